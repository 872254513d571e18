<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.28.0" styleCategories="AllStyleCategories">
  <pipe>
    <rasterrenderer type="paletted" band="1" opacity="1" alphaBand="-1" nodataColor="">
      <rasterTransparency/>
      <colorPalette>
        <paletteEntry value="11" color="#d9d9d9" alpha="255" label="11 Tree-covered areas -&gt; Tree-covered areas"/>
        <paletteEntry value="12" color="#ffac42" alpha="255" label="12 Tree-covered areas -&gt; Grassland"/>
        <paletteEntry value="13" color="#ffff64" alpha="255" label="13 Tree-covered areas -&gt; Cropland"/>
        <paletteEntry value="14" color="#00db84" alpha="255" label="14 Tree-covered areas -&gt; Wetland"/>
        <paletteEntry value="15" color="#ff0000" alpha="255" label="15 Tree-covered areas -&gt; Artificial surfaces"/>
        <paletteEntry value="16" color="#fff5d7" alpha="255" label="16 Tree-covered areas -&gt; Other land"/>
        <paletteEntry value="17" color="#0046c8" alpha="255" label="17 Tree-covered areas -&gt; Water bodies"/>
        <paletteEntry value="21" color="#787f1b" alpha="255" label="21 Grassland -&gt; Tree-covered areas"/>
        <paletteEntry value="22" color="#d9d9d9" alpha="255" label="22 Grassland -&gt; Grassland"/>
        <paletteEntry value="23" color="#ffff64" alpha="255" label="23 Grassland -&gt; Cropland"/>
        <paletteEntry value="24" color="#00db84" alpha="255" label="24 Grassland -&gt; Wetland"/>
        <paletteEntry value="25" color="#ff0000" alpha="255" label="25 Grassland -&gt; Artificial surfaces"/>
        <paletteEntry value="26" color="#fff5d7" alpha="255" label="26 Grassland -&gt; Other land"/>
        <paletteEntry value="27" color="#0046c8" alpha="255" label="27 Grassland -&gt; Water bodies"/>
        <paletteEntry value="31" color="#787f1b" alpha="255" label="31 Cropland -&gt; Tree-covered areas"/>
        <paletteEntry value="32" color="#ffac42" alpha="255" label="32 Cropland -&gt; Grassland"/>
        <paletteEntry value="33" color="#d9d9d9" alpha="255" label="33 Cropland -&gt; Cropland"/>
        <paletteEntry value="34" color="#00db84" alpha="255" label="34 Cropland -&gt; Wetland"/>
        <paletteEntry value="35" color="#ff0000" alpha="255" label="35 Cropland -&gt; Artificial surfaces"/>
        <paletteEntry value="36" color="#fff5d7" alpha="255" label="36 Cropland -&gt; Other land"/>
        <paletteEntry value="37" color="#0046c8" alpha="255" label="37 Cropland -&gt; Water bodies"/>
        <paletteEntry value="41" color="#787f1b" alpha="255" label="41 Wetland -&gt; Tree-covered areas"/>
        <paletteEntry value="42" color="#ffac42" alpha="255" label="42 Wetland -&gt; Grassland"/>
        <paletteEntry value="43" color="#ffff64" alpha="255" label="43 Wetland -&gt; Cropland"/>
        <paletteEntry value="44" color="#d9d9d9" alpha="255" label="44 Wetland -&gt; Wetland"/>
        <paletteEntry value="45" color="#ff0000" alpha="255" label="45 Wetland -&gt; Artificial surfaces"/>
        <paletteEntry value="46" color="#fff5d7" alpha="255" label="46 Wetland -&gt; Other land"/>
        <paletteEntry value="47" color="#0046c8" alpha="255" label="47 Wetland -&gt; Water bodies"/>
        <paletteEntry value="51" color="#787f1b" alpha="255" label="51 Artificial surfaces -&gt; Tree-covered areas"/>
        <paletteEntry value="52" color="#ffac42" alpha="255" label="52 Artificial surfaces -&gt; Grassland"/>
        <paletteEntry value="53" color="#ffff64" alpha="255" label="53 Artificial surfaces -&gt; Cropland"/>
        <paletteEntry value="54" color="#00db84" alpha="255" label="54 Artificial surfaces -&gt; Wetland"/>
        <paletteEntry value="55" color="#d9d9d9" alpha="255" label="55 Artificial surfaces -&gt; Artificial surfaces"/>
        <paletteEntry value="56" color="#fff5d7" alpha="255" label="56 Artificial surfaces -&gt; Other land"/>
        <paletteEntry value="57" color="#0046c8" alpha="255" label="57 Artificial surfaces -&gt; Water bodies"/>
        <paletteEntry value="61" color="#787f1b" alpha="255" label="61 Other land -&gt; Tree-covered areas"/>
        <paletteEntry value="62" color="#ffac42" alpha="255" label="62 Other land -&gt; Grassland"/>
        <paletteEntry value="63" color="#ffff64" alpha="255" label="63 Other land -&gt; Cropland"/>
        <paletteEntry value="64" color="#00db84" alpha="255" label="64 Other land -&gt; Wetland"/>
        <paletteEntry value="65" color="#ff0000" alpha="255" label="65 Other land -&gt; Artificial surfaces"/>
        <paletteEntry value="66" color="#d9d9d9" alpha="255" label="66 Other land -&gt; Other land"/>
        <paletteEntry value="67" color="#0046c8" alpha="255" label="67 Other land -&gt; Water bodies"/>
        <paletteEntry value="71" color="#787f1b" alpha="255" label="71 Water bodies -&gt; Tree-covered areas"/>
        <paletteEntry value="72" color="#ffac42" alpha="255" label="72 Water bodies -&gt; Grassland"/>
        <paletteEntry value="73" color="#ffff64" alpha="255" label="73 Water bodies -&gt; Cropland"/>
        <paletteEntry value="74" color="#00db84" alpha="255" label="74 Water bodies -&gt; Wetland"/>
        <paletteEntry value="75" color="#ff0000" alpha="255" label="75 Water bodies -&gt; Artificial surfaces"/>
        <paletteEntry value="76" color="#fff5d7" alpha="255" label="76 Water bodies -&gt; Other land"/>
        <paletteEntry value="77" color="#d9d9d9" alpha="255" label="77 Water bodies -&gt; Water bodies"/>
      </colorPalette>
    </rasterrenderer>
    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>
    <huesaturation saturation="0" grayscaleMode="0" colorizeOn="0"/>
    <rasterresampler maxOversampling="2"/>
  </pipe>
  <blendMode>0</blendMode>
</qgis>
