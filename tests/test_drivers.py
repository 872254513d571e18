"""Drivers vocabulary: every row of drivers.md (parsed from the spec when present), matching, errors,
driver records from lists, YAML and CSV."""

from __future__ import annotations

from pathlib import Path

import pytest

from ldnkit import codes
from ldnkit.drivers import (
    ALL_DRIVERS,
    DIRECT_DRIVERS,
    INDIRECT_DRIVERS,
    NATURAL_DRIVERS,
    DriverRecord,
    validate_confidence,
    validate_driver,
    vocabulary_table,
)
from ldnkit.errors import ConfigError, InputError
from ldnkit.io.records import read_driver_records

SPEC = Path("/work/shared/spec/drivers.md")


def _cells(text: str) -> list[str]:
    return [c.strip() for c in text.strip().strip("|").split("|")]


def _tables(md: str) -> list[list[list[str]]]:
    """The markdown tables of a file: lists of rows of cells, header and separator dropped."""
    tables, cur = [], None
    for line in md.splitlines():
        if line.startswith("|"):
            if cur is None:
                cur = []
                tables.append(cur)
            cur.append(_cells(line))
        else:
            cur = None
    return [t[2:] for t in tables]


def _items(cell: str) -> tuple[str, ...]:
    return () if cell == "—" else tuple(s.strip() for s in cell.split(";"))


@pytest.mark.skipif(not SPEC.exists(), reason="the spec folder ../shared/spec is not present")
def test_every_row_of_drivers_md():
    t1, t2 = _tables(SPEC.read_text())
    assert len(t1) == 11 and len(t2) == 5
    direct = {n: d for n, d in DIRECT_DRIVERS.items() if d.kind == "direct"}
    assert list(direct) == [r[0] for r in t1]
    for name, subs, procs in t1:
        d = DIRECT_DRIVERS[name]
        assert d.sub_drivers == _items(subs), name
        assert d.processes == _items(procs), name
    assert list(INDIRECT_DRIVERS) == [r[0] for r in t2]
    for name, subs, sdgs in t2:
        d = INDIRECT_DRIVERS[name]
        assert d.kind == "indirect"
        assert d.sub_drivers == _items(subs), name
        assert d.sdgs == tuple(int(s) for s in sdgs.split(",")), name


def test_counts_and_natural_drivers():
    assert sum(d.kind == "direct" for d in DIRECT_DRIVERS.values()) == 11
    assert set(NATURAL_DRIVERS) == {"Drought", "Floods", "Landslides", "Wildfire"}
    assert all(DIRECT_DRIVERS[n].kind == "natural" for n in NATURAL_DRIVERS)
    assert len(INDIRECT_DRIVERS) == 5 and len(ALL_DRIVERS) == 20
    t = vocabulary_table()
    assert len(t) == 20 and t.attrs["title"]
    assert list(t.columns) == ["Kind", "Driver", "Sub-drivers", "Processes", "Related SDGs"]
    row = t[t["Driver"] == "Cultural"].iloc[0]
    assert row["Kind"] == "Indirect" and row["Related SDGs"] == "2, 3, 4, 5, 10, 12, 13, 15, 16"
    assert t[t["Driver"] == "Floods"]["Kind"].item() == "Direct (natural)"


def test_matching_is_case_insensitive():
    assert validate_driver("  INVASIVE alien   species", "x") == "Invasive alien species"
    assert validate_driver("demographic", "x") == "Demographic"
    assert validate_driver("wildfire", "x") == "Wildfire"
    assert validate_confidence("Established_but_incomplete", "x") == "established but incomplete"
    for term in codes.IPBES_CONFIDENCE:
        assert validate_confidence(term.upper(), "x") == term


def test_unknown_names_give_closest():
    with pytest.raises(ConfigError) as e:
        validate_driver("Extraction of minerals", "neutrality.drivers[0].driver")
    msg = str(e.value)
    assert msg.startswith("neutrality.drivers[0].driver: 'Extraction of minerals' is not a known driver")
    assert "Extraction of mineral resources" in msg and "\n" not in msg
    with pytest.raises(ConfigError, match="Demographic"):
        validate_driver("demographics", "x")
    with pytest.raises(ConfigError, match="did you mean 'Rangeland management'"):
        validate_driver("Overgrazing", "x")  # a common word of methodology §4.5 gives a hint
    with pytest.raises(ConfigError, match="Demographic"):
        validate_driver("demografic", "x")
    with pytest.raises(ConfigError) as e:
        validate_confidence("high", "drivers[1].confidence")
    assert "well established, established but incomplete, unresolved, inconclusive" in str(e.value)
    with pytest.raises(ConfigError, match="not a known driver"):
        validate_driver("Economic", "x", kinds=("direct",))


def test_driver_record_validation():
    r = DriverRecord("rangeland management", "WELL ESTABLISHED", sub_driver="Stocking rate", hotspot_id="3")
    assert r.driver == "Rangeland management" and r.sub_driver == "stocking rate" and r.hotspot_id == 3
    assert r.label == "Rangeland management — stocking rate"
    with pytest.raises(ConfigError, match="stocking rate"):
        DriverRecord("Rangeland management", "unresolved", sub_driver="stocking density", hotspot_id=1)
    with pytest.raises(ConfigError, match="no sub-drivers"):
        DriverRecord("Land abandonment", "unresolved", sub_driver="x", hotspot_id=1)
    with pytest.raises(ConfigError, match="needs a place"):
        DriverRecord("Land abandonment", "unresolved")
    with pytest.raises(ConfigError, match="kind"):
        DriverRecord("Land abandonment", "unresolved", hotspot_id=1, kind="coldspot")


def test_read_driver_records(tmp_path):
    recs = read_driver_records(
        [{"at": [36.5, -0.7], "driver": "Extraction of mineral resources", "confidence": "well established"}]
    )
    assert recs[0].at == (36.5, -0.7)
    (tmp_path / "d.yaml").write_text(
        "- {hotspot_id: 2, kind: hotspot, driver: climate change, confidence: unresolved, remediation: SLM}\n"
    )
    recs = read_driver_records(tmp_path / "d.yaml")
    assert recs[0].driver == "Climate change" and recs[0].remediation == "SLM" and recs[0].kind == "hotspot"
    (tmp_path / "d.csv").write_text(
        "x,y,driver,confidence,sub_driver,period\n"
        "1.5,2.5,Cropland and agroforestry,inconclusive,irrigation,2016-2023\n"
        "3,4,Floods,unresolved,,\n"
    )
    recs = read_driver_records(tmp_path / "d.csv")
    assert [r.at for r in recs] == [(1.5, 2.5), (3.0, 4.0)] and recs[0].sub_driver == "irrigation"
    assert recs[0].period == "2016-2023" and recs[1].sub_driver is None
    (tmp_path / "bad.csv").write_text("x,y,driver,confidence\n1,2,Floods,sure\n")
    with pytest.raises(ConfigError) as e:
        read_driver_records(tmp_path / "bad.csv")
    assert "bad.csv" in str(e.value) and "row 2" in str(e.value) and "confidence" in str(e.value)
    with pytest.raises(ConfigError, match=r"drivers\[0\].*unknown field 'where_'"):
        read_driver_records([{"driver": "Floods", "confidence": "unresolved", "where_": 1}], key="drivers")
    with pytest.raises(InputError, match="not found"):
        read_driver_records(tmp_path / "missing.csv")
