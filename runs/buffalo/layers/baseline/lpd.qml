<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.28.0" styleCategories="AllStyleCategories">
  <pipe>
    <rasterrenderer type="paletted" band="1" opacity="1" alphaBand="-1" nodataColor="">
      <rasterTransparency/>
      <colorPalette>
        <paletteEntry value="1" color="#f23c46" alpha="255" label="1 Declining"/>
        <paletteEntry value="2" color="#ffa500" alpha="255" label="2 Moderate decline"/>
        <paletteEntry value="3" color="#ffff96" alpha="255" label="3 Stable but stressed"/>
        <paletteEntry value="4" color="#bcd88c" alpha="255" label="4 Stable"/>
        <paletteEntry value="5" color="#3ba638" alpha="255" label="5 Increasing"/>
      </colorPalette>
    </rasterrenderer>
    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>
    <huesaturation saturation="0" grayscaleMode="0" colorizeOn="0"/>
    <rasterresampler maxOversampling="2"/>
  </pipe>
  <blendMode>0</blendMode>
</qgis>
