"""Bulk import (all-or-nothing) and export of GeoPackage, GeoJSON and CSV, on both backends."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from ldnkit.registry import RegistryError
from ldnkit.registry.bulk import export_file, import_file
from registry.helpers import activity, square

FORMATS = ("gpkg", "geojson", "csv")


def _write(rows: list[dict], path) -> None:
    frame = gpd.GeoDataFrame(
        [
            {k: ";".join(v) if isinstance(v, list) else v for k, v in r.items() if k != "geometry"}
            for r in rows
        ],
        geometry=[r["geometry"] for r in rows],
        crs="EPSG:4326",
    )
    if path.suffix == ".csv":
        table = pd.DataFrame(frame.drop(columns="geometry"))
        table["geometry"] = frame.geometry.to_wkt()
        table.to_csv(path, index=False)
    else:
        frame.to_file(path)


def _rows(n: int) -> list[dict]:
    return [activity(f"site {i}", geometry=square(10 + i * 0.1, 10), reported_area_ha=None) for i in range(n)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_import_then_export_round_trip(store, tmp_path, fmt):
    source = tmp_path / f"in.{fmt}"
    _write(_rows(5), source)
    ids = import_file(store, source, by="importer")
    assert len(ids) == 5 and store.query().matched == 5
    first = store.get(ids[0])
    assert first["practices"] == ["S1", "V1"] and first["drivers"] == ["Rangeland management"]
    assert first["geometry"].equals(square(10, 10)) and first["created_by"] == "importer"
    store.update(ids[1], {"funding": "national, budget; 2024"}, by="x", expected_version=1)
    before = {r["name"]: r for r in store.query().items}
    out = tmp_path / f"out.{fmt}"
    assert export_file(store, out) == 5
    for rec in before.values():  # empty the registry, then bring the export back
        store.delete(rec["id"], by="x", expected_version=rec["version"])
    assert len(import_file(store, out, by="importer")) == 5
    after = {r["name"]: r for r in store.query().items}
    kept = (
        "site",
        "region",
        "level",
        "start_date",
        "end_date",
        "practices",
        "drivers",
        "co_benefits",
        "funding",
        "establishment_cost_usd_ha",
        "computed_area_ha",
        "land_use_after",
    )
    for name, rec in before.items():
        assert {k: after[name][k] for k in kept} == {k: rec[k] for k in kept}, name
        assert after[name]["geometry"].equals(rec["geometry"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_bad_row_imports_nothing(store, tmp_path, fmt):
    rows = _rows(6)
    rows[3]["end_date"] = "2001-01-01"  # before its start
    source = tmp_path / f"bad.{fmt}"
    _write(rows, source)
    with pytest.raises(RegistryError, match=r"^row 4: end_date: .* is before start_date"):
        import_file(store, source, by="importer")
    assert store.query().matched == 0
    assert store.audit() == []


def test_duplicate_inside_the_file_imports_nothing(store, tmp_path):
    rows = _rows(3) + [activity("SITE 1", geometry=square(11, 11), reported_area_ha=None)]
    _write(rows, tmp_path / "dup.geojson")
    with pytest.raises(RegistryError, match="^row 4: name: is already used"):
        import_file(store, tmp_path / "dup.geojson", by="importer")
    assert store.query().matched == 0


def test_import_reprojects_and_names_bad_geometry(store, tmp_path):
    frame = gpd.GeoDataFrame({"name": ["utm site"]}, geometry=[square(10, 10)], crs="EPSG:4326").to_crs(32632)
    frame.to_file(tmp_path / "utm.gpkg")
    (only,) = import_file(store, tmp_path / "utm.gpkg", by="importer")
    assert store.get(only)["geometry"].hausdorff_distance(square(10, 10)) < 1e-9
    (tmp_path / "wkt.csv").write_text(
        'name,geometry\nok,"POLYGON((1 1,1.01 1,1.01 1.01,1 1))"\nbad,"POLYGON((1 1"\n'
    )
    with pytest.raises(RegistryError, match="^row 2: geometry: is not WKT"):
        import_file(store, tmp_path / "wkt.csv", by="importer")
    with pytest.raises(RegistryError, match="not a supported format"):
        import_file(store, tmp_path / "x.shp.zip", by="importer")
