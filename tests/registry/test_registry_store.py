"""The registry store on both backends: CRUD, versions, audit, optimistic concurrency, queries, schema."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import inspect, text

from ldnkit.registry import ActivityQuery, NotFoundError, StaleVersionError, TransitionError
from ldnkit.registry.migrate import head_revision, schema_revision
from ldnkit.registry.models import Base
from registry.helpers import activity, square


def test_create_read_fields(store):
    created = store.create(activity(), by="ana")
    got = store.get(created["id"])
    assert got["version"] == 1 and got["status"] == "draft"
    assert got["practices"] == ["S1", "V1"] and got["drivers"] == ["Rangeland management"]
    assert got["start_date"] == dt.date(2020, 3, 1) and got["end_date"] == dt.date(2023, 12, 31)
    assert got["geometry"].geom_type == "MultiPolygon" and got["geometry"].equals(square())
    assert got["computed_area_ha"] == pytest.approx(121.27, abs=0.01)  # geodesic, WGS84
    assert got["created_by"] == got["updated_by"] == "ana"
    assert got["establishment_cost_usd_ha"] == 450.0 and got["co_benefits"] == ["biodiversity"]


def test_update_keeps_every_version_and_audits(store):
    a = store.create(activity(), by="ana")
    b = store.update(
        a["id"], {"geometry": square(size=0.011), "reported_area_ha": 146}, by="bob", expected_version=1
    )
    c = store.update(b["id"], {"funding": "national budget"}, by="carl", expected_version=2)
    assert c["version"] == 3 and c["updated_by"] == "carl"
    versions = store.versions(a["id"])
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert versions[0]["geometry"].equals(square()) and versions[1]["geometry"].equals(square(size=0.011))
    assert versions[0]["funding"] == "GEF" and versions[2]["funding"] == "national budget"
    audit = store.audit(a["id"])
    assert [(e["who"], e["action"], e["version"]) for e in audit] == [
        ("ana", "create", 1),
        ("bob", "update", 2),
        ("carl", "update", 3),
    ]
    assert set(audit[1]["changed_fields"]) == {"geometry", "reported_area_ha", "computed_area_ha"}


def test_stale_update_is_refused_and_changes_nothing(store):
    a = store.create(activity(), by="ana")
    store.update(a["id"], {"funding": "first"}, by="ana", expected_version=1)
    with pytest.raises(StaleVersionError, match="version 1 is stale"):
        store.update(a["id"], {"funding": "second"}, by="bob", expected_version=1)
    with pytest.raises(StaleVersionError):
        store.set_status(a["id"], "pending_approval", by="bob", expected_version=1)
    with pytest.raises(StaleVersionError):
        store.delete(a["id"], by="bob", expected_version=1)
    got = store.get(a["id"])
    assert got["funding"] == "first" and got["version"] == 2 and len(store.versions(a["id"])) == 2


def test_status_workflow(store):
    a = store.create(activity(), by="ana")
    with pytest.raises(TransitionError, match="cannot go from draft to approved"):
        store.set_status(a["id"], "approved", by="ana", expected_version=1)
    b = store.set_status(a["id"], "pending_approval", by="ana", expected_version=1)
    c = store.set_status(a["id"], "information_required", by="pat", expected_version=b["version"])
    d = store.set_status(a["id"], "pending_approval", by="ana", expected_version=c["version"])
    e = store.set_status(a["id"], "approved", by="pat", expected_version=d["version"])
    assert e["status"] == "approved" and e["version"] == 5
    assert [x["action"] for x in store.audit(a["id"])] == ["create"] + ["status"] * 4


def test_delete_keeps_history(store):
    a = store.create(activity(), by="ana")
    store.delete(a["id"], by="bob", expected_version=1)
    with pytest.raises(NotFoundError):
        store.get(a["id"])
    assert [v["action"] for v in store.versions(a["id"])] == ["create", "delete"]
    assert store.audit(a["id"])[-1]["who"] == "bob"
    # the name is free again in that site
    store.create(activity(), by="ana")


def _names(store, **kw) -> list[str]:
    return [r["name"] for r in store.query(ActivityQuery(**kw)).items]


def test_queries(store):
    store.create(
        activity("A", geometry=square(10, 10), start_date="2015-01-01", end_date="2016-12-31"), by="x"
    )
    store.create(
        activity(
            "B",
            geometry=square(20, 20),
            level="avoid",
            practices=["M2"],
            region="South",
            reported_area_ha=None,
        ),
        by="x",
    )
    c = store.create(
        activity("C", geometry=square(10.5, 10.5), start_date="2024-01-01", end_date=None), by="x"
    )
    store.set_status(c["id"], "pending_approval", by="x", expected_version=1)
    assert _names(store) == ["A", "B", "C"]
    assert _names(store, bbox=(9.9, 9.9, 10.6, 10.6)) == ["A", "C"]
    assert _names(store, bbox=(10.2, 10.2, 10.3, 10.3)) == []
    assert _names(store, period=(dt.date(2016, 6, 1), dt.date(2019, 1, 1))) == ["A"]
    assert _names(store, period=(dt.date(2030, 1, 1), None)) == ["C"]  # an open end still runs
    assert _names(store, status="pending_approval") == ["C"]
    assert _names(store, level="avoid") == ["B"]
    assert _names(store, practice="m2") == ["B"] and _names(store, practice="S1") == ["A", "C"]
    assert _names(store, practice="S") == []  # whole codes only
    assert _names(store, region="South") == ["B"]
    page = store.query(ActivityQuery(limit=2, offset=1))
    assert [r["name"] for r in page.items] == ["B", "C"] and page.matched == 3
    page = store.query(ActivityQuery(bbox=(9, 9, 11, 11), limit=1, offset=1))
    assert [r["name"] for r in page.items] == ["C"] and page.matched == 2


def test_bbox_is_exact_not_just_the_envelope(store):
    # an L-shaped site whose envelope covers the query box but whose polygon does not
    from shapely.geometry import Polygon

    ell = Polygon([(0, 0), (0.02, 0), (0.02, 0.005), (0.005, 0.005), (0.005, 0.02), (0, 0.02)])
    store.create(activity("L", geometry=ell, reported_area_ha=None), by="x")
    assert _names(store, bbox=(0.015, 0.015, 0.019, 0.019)) == []
    assert _names(store, bbox=(0.001, 0.001, 0.002, 0.002)) == ["L"]


def test_schema_is_migrated_and_matches_the_models(store):
    """The migration builds exactly the models' tables, columns and indexes (on each backend)."""
    with store.engine.connect() as connection:
        assert schema_revision(connection) == head_revision() == "0001"
        inspector = inspect(connection)
        for table in Base.metadata.sorted_tables:
            columns = {c["name"]: c["nullable"] for c in inspector.get_columns(table.name)}
            assert columns == {c.name: c.nullable for c in table.columns}, table.name
            indexes = {i["name"] for i in inspector.get_indexes(table.name)}
            assert {i.name for i in table.indexes} <= indexes, table.name
    store.upgrade()  # running it again is harmless


def test_geometry_column_is_native(store):
    store.create(activity(), by="ana")
    with store.engine.connect() as connection:
        if store.backend == "postgresql":
            row = connection.execute(
                text("SELECT GeometryType(geometry), ST_SRID(geometry) FROM activity")
            ).one()
            assert tuple(row) == ("MULTIPOLYGON", 4326)
        else:
            row = connection.execute(
                text(
                    "SELECT geometry_type_name, srs_id FROM gpkg_geometry_columns WHERE table_name='activity'"
                )
            ).one()
            assert tuple(row) == ("MULTIPOLYGON", 4326)
            assert connection.exec_driver_sql("PRAGMA application_id").scalar() == 0x47504B47


def test_geopackage_opens_in_gdal(tmp_path):
    import pyogrio

    from ldnkit.registry import open_store

    store = open_store(tmp_path / "r.gpkg", upgrade=True)
    store.create(activity(), by="ana")
    store.close()
    layers = dict(pyogrio.list_layers(tmp_path / "r.gpkg"))
    assert layers["activity"] == "MultiPolygon" and layers["activity_version"] == "MultiPolygon"
    frame = pyogrio.read_dataframe(tmp_path / "r.gpkg", layer="activity")
    assert frame.crs.to_epsg() == 4326 and frame.geometry.iloc[0].equals(square())
    assert frame["practices"].iloc[0] == "S1;V1"
