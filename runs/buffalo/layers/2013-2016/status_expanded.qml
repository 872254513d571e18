<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.28.0" styleCategories="AllStyleCategories">
  <pipe>
    <rasterrenderer type="paletted" band="1" opacity="1" alphaBand="-1" nodataColor="">
      <rasterTransparency/>
      <colorPalette>
        <paletteEntry value="1" color="#9b2779" alpha="255" label="1 Persistent degradation"/>
        <paletteEntry value="2" color="#c0504d" alpha="255" label="2 Recent degradation"/>
        <paletteEntry value="3" color="#f79646" alpha="255" label="3 Baseline degradation"/>
        <paletteEntry value="4" color="#ffffe0" alpha="255" label="4 Stability"/>
        <paletteEntry value="5" color="#8bc34a" alpha="255" label="5 Baseline improvement"/>
        <paletteEntry value="6" color="#45a146" alpha="255" label="6 Recent improvement"/>
        <paletteEntry value="7" color="#006d2c" alpha="255" label="7 Persistent improvement"/>
      </colorPalette>
    </rasterrenderer>
    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>
    <huesaturation saturation="0" grayscaleMode="0" colorizeOn="0"/>
    <rasterresampler maxOversampling="2"/>
  </pipe>
  <blendMode>0</blendMode>
</qgis>
