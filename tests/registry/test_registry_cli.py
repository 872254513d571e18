"""The ``registry`` Typer sub-app, run with CliRunner on both backends."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ldnkit.registry import open_store
from ldnkit.registry.cli import app
from registry.helpers import activity, square

runner = CliRunner()


def _csv(path, rows) -> None:
    lines = ["name,site,level,practices,start_date,geometry"]
    lines += [f'{n},{s},{lv},{p},{d},"{g.wkt}"' for n, s, lv, p, d, g in rows]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("registry_location", ["sqlite", "postgis"], indirect=True)
def test_cli_round(registry_location, tmp_path):
    reg = ["--registry", registry_location]
    res = runner.invoke(app, ["init", registry_location])
    assert res.exit_code == 0, res.output
    _csv(
        tmp_path / "a.csv",
        [
            ("Dunes", "Coast", "reverse", "V1;S6", "2021-01-01", square()),
            ("Gullies", "Hills", "reduce", "S4", "2022-02-02", square(11, 11)),
        ],
    )
    res = runner.invoke(app, ["import", str(tmp_path / "a.csv"), *reg, "--by", "ana"])
    assert res.exit_code == 0 and "imported 2 activities" in res.output, res.output
    res = runner.invoke(app, ["list", *reg, "--practice", "S4"])
    assert res.exit_code == 0 and "Gullies" in res.output and "Dunes" not in res.output, res.output
    assert "1 of 1 activities" in res.output
    res = runner.invoke(app, ["export", str(tmp_path / "out.gpkg"), *reg])
    assert res.exit_code == 0 and (tmp_path / "out.gpkg").exists()
    # a bad file: exit 2, one line naming the row and field, nothing imported
    _csv(
        tmp_path / "bad.csv",
        [
            ("Ok", "X", "avoid", "A1", "2020-01-01", square(12, 12)),
            ("Bad", "X", "avoid", "Q7", "2020-01-01", square(13, 13)),
        ],
    )
    res = runner.invoke(app, ["import", str(tmp_path / "bad.csv"), *reg])
    assert res.exit_code == 2 and "row 2: practices: 'Q7' is not a practice code" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    store = open_store(registry_location)
    assert store.query().matched == 2
    store.close()


@pytest.mark.parametrize("registry_location", ["sqlite", "postgis"], indirect=True)
def test_cli_tokens(registry_location):
    reg = ["--registry", registry_location]
    assert runner.invoke(app, ["init", registry_location]).exit_code == 0
    res = runner.invoke(app, ["token", "create", "--role", "approver", "--label", "pat", *reg])
    assert res.exit_code == 0, res.output
    token = res.stdout.strip()
    store = open_store(registry_location)
    assert store.authenticate(token).role == "approver"
    res = runner.invoke(app, ["token", "list", *reg])
    assert "pat" in res.stdout and token not in res.stdout
    assert runner.invoke(app, ["token", "revoke", "pat", *reg]).exit_code == 0
    assert store.authenticate(token) is None
    res = runner.invoke(app, ["token", "create", "--role", "god", "--label", "x", *reg])
    assert res.exit_code == 2 and "role: 'god' is not a role" in res.stderr
    store.close()


def test_cli_boundary(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    gpd.GeoDataFrame(geometry=[box(9, 9, 11, 11)], crs="EPSG:4326").to_file(tmp_path / "country.geojson")
    reg = str(tmp_path / "r.gpkg")
    assert runner.invoke(app, ["init", reg, "--boundary", str(tmp_path / "country.geojson")]).exit_code == 0
    store = open_store(reg)
    store.create(activity(), by="ana")
    with pytest.raises(Exception, match="outside the registry's country boundary"):
        store.create(activity("far", geometry=square(40, 40)), by="ana")
