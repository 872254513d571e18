"""Every validation rule gives one RegistryError naming the field (database rules on both backends)."""

from __future__ import annotations

import pytest
from shapely.geometry import MultiPolygon, Point, Polygon, box

from ldnkit.registry import RegistryError
from ldnkit.registry.validation import AREA_TOLERANCE, check_consistency, check_fields
from registry.helpers import activity, square

BOWTIE = Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])  # self-intersecting


def _error(fields: dict, field: str, *needles: str) -> RegistryError:
    with pytest.raises(RegistryError) as info:
        check_consistency(check_fields(fields))
    assert info.value.field == field, str(info.value)
    assert len(str(info.value).splitlines()) == 1
    for needle in needles:
        assert needle in str(info.value)
    return info.value


def test_self_intersecting_geometry_is_refused_with_the_repaired_one():
    error = _error({"geometry": BOWTIE}, "geometry", "not a valid polygon", "Self-intersection")
    assert isinstance(error.repaired, MultiPolygon) and error.repaired.is_valid
    assert error.repaired.area == pytest.approx(0.5)
    check_fields({"geometry": error.repaired})  # the offer is acceptable as it is


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("POLYGON((0 0, 1 1", "not a readable geometry"),
        (Point(1, 1), "is a Point, not a polygon"),
        (Polygon(), "is empty"),
        (box(500000, 4000000, 500100, 4000100), "outside longitude/latitude"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [0.01, 0], [0.01, 0.01], [0, 0]]]}, None),
    ],
)
def test_geometry_rules(value, needle):
    if needle is None:
        assert check_fields({"geometry": value})["geometry"].geom_type == "MultiPolygon"
    else:
        _error({"geometry": value}, "geometry", needle)


def test_reported_area_far_from_computed():
    computed = check_fields({"geometry": square()})["computed_area_ha"]
    ok = computed * (1 + AREA_TOLERANCE * 0.9)
    check_consistency(check_fields({"geometry": square(), "reported_area_ha": ok}))
    _error(
        {"geometry": square(), "reported_area_ha": computed * 2}, "reported_area_ha", "far from", "geodesic"
    )
    # tiny sites: 1 ha of slack
    tiny = square(size=0.0005)
    check_consistency(check_fields({"geometry": tiny, "reported_area_ha": 1.2}))


def test_end_before_start():
    _error({"start_date": "2021-05-01", "end_date": "2020-01-01"}, "end_date", "before start_date")
    _error({"start_date": "01/05/2021"}, "start_date", "not a date", "YYYY-MM-DD")


def test_unknown_practice_and_driver_codes():
    _error({"practices": ["V1", "Z9"]}, "practices", "'Z9' is not a practice code")
    _error(
        {"drivers": ["overgrazing"]}, "drivers", "'overgrazing' is not a known driver", "Rangeland management"
    )
    assert check_fields({"drivers": "climate change; drought"})["drivers"] == ["Climate change", "Drought"]


def test_other_field_rules():
    _error({"level": "restore"}, "level", "avoid, reduce, reverse")
    _error({"status": "done"}, "status", "not one of")
    _error({"maintenance_cost_usd_ha": -5}, "maintenance_cost_usd_ha", "negative")
    _error({"reported_area_ha": "lots"}, "reported_area_ha", "not a number")
    _error({"name": "  "}, "name", "is empty")
    _error({"name": "x" * 201}, "name", "201 characters")
    _error({"colour": "red"}, "colour", "is not a field of an activity")


def test_missing_name_or_geometry(store):
    for field in ("name", "geometry"):
        with pytest.raises(RegistryError, match=f"^{field}: is missing"):
            store.create({k: v for k, v in activity().items() if k != field}, by="ana")


def test_duplicate_names_in_one_site(store):
    store.create(activity("Terraces A"), by="ana")
    with pytest.raises(RegistryError, match="^name: is already used in site 'Upper basin'"):
        store.create(activity("terraces  a"), by="bob")
    store.create(activity("Terraces A", site="Lower basin"), by="bob")  # another site: fine
    b = store.create(activity("Terraces B"), by="bob")
    with pytest.raises(RegistryError, match="^name: is already used"):
        store.update(b["id"], {"name": "TERRACES A"}, by="bob", expected_version=1)
    assert store.query().matched == 3


def test_outside_the_country(store):
    store.set_boundary(box(9, 9, 11, 11))
    store.create(activity("inside"), by="ana")
    with pytest.raises(RegistryError, match="^geometry: lies .*outside the registry's country boundary"):
        store.create(activity("across", geometry=square(10.995, 10.5)), by="ana")
    with pytest.raises(RegistryError, match="outside"):
        store.create(activity("far", geometry=square(30, 30)), by="ana")
    store.set_boundary(None)
    store.create(activity("far", geometry=square(30, 30)), by="ana")


def test_rules_hold_on_update(store):
    a = store.create(activity(), by="ana")
    with pytest.raises(RegistryError, match="^end_date"):
        store.update(a["id"], {"end_date": "2019-01-01"}, by="ana", expected_version=1)
    with pytest.raises(RegistryError, match="^reported_area_ha"):
        store.update(a["id"], {"geometry": square(size=0.02)}, by="ana", expected_version=1)
    with pytest.raises(RegistryError, match="^status: is changed through the approval workflow"):
        store.update(a["id"], {"status": "approved"}, by="ana", expected_version=1)
    assert store.get(a["id"])["version"] == 1
