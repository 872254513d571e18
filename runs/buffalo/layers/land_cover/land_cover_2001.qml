<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.28.0" styleCategories="AllStyleCategories">
  <pipe>
    <rasterrenderer type="paletted" band="1" opacity="1" alphaBand="-1" nodataColor="">
      <rasterTransparency/>
      <colorPalette>
        <paletteEntry value="1" color="#787f1b" alpha="255" label="1 Tree-covered areas"/>
        <paletteEntry value="2" color="#ffac42" alpha="255" label="2 Grassland"/>
        <paletteEntry value="3" color="#ffff64" alpha="255" label="3 Cropland"/>
        <paletteEntry value="4" color="#00db84" alpha="255" label="4 Wetland"/>
        <paletteEntry value="5" color="#ff0000" alpha="255" label="5 Artificial surfaces"/>
        <paletteEntry value="6" color="#fff5d7" alpha="255" label="6 Other land"/>
        <paletteEntry value="7" color="#0046c8" alpha="255" label="7 Water bodies"/>
      </colorPalette>
    </rasterrenderer>
    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>
    <huesaturation saturation="0" grayscaleMode="0" colorizeOn="0"/>
    <rasterresampler maxOversampling="2"/>
  </pipe>
  <blendMode>0</blendMode>
</qgis>
