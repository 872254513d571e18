"""FAOSTAT-shaped readers and the bundled synthetic example."""

from __future__ import annotations

import pandas as pd
import pytest

from ldnkit.errors import InputError
from ldnkit.footprint import trade_flow_footprint
from ldnkit.io.trade import bundled_example, read_production, read_trade_matrix

PRODUCTION_HEADER = "Area,Item,Element,Year,Unit,Value,Flag\n"
TRADE_HEADER = "Reporter Countries,Partner Countries,Item,Element,Year,Unit,Value\n"


def test_bundled_example_reads_and_conserves_land():
    paths = bundled_example()
    assert all(path.is_file() for path in paths.values())
    production = read_production(paths["production"])
    trade = read_trade_matrix(paths["trade_matrix"])
    assert set(production["commodity"]) == {"Wheat", "Maize", "Soya beans"}
    assert len(set(production["country"])) == 5
    flows = trade_flow_footprint(production, trade, degraded_share=pd.read_csv(paths["degraded_share"]))
    grown = production.groupby("country")["harvested_area"].sum()
    allocated = flows.groupby("producer")["hectares"].sum()
    pd.testing.assert_series_equal(allocated.loc[grown.index], grown, check_names=False)
    assert flows["degraded_hectares"].notna().all()
    # Dorvia grows no wheat: the wheat it passes to Estmark is Arland's
    wheat = flows[(flows["commodity"] == "Wheat") & (flows["consumer"] == "Estmark")]
    assert set(wheat["producer"]) == {"Arland", "Borduria", "Estmark"}
    assert flows.attrs["exports_scaled"] == []


def test_importer_and_exporter_reports(tmp_path):
    path = tmp_path / "tm.csv"
    path.write_text(
        TRADE_HEADER
        + "B,A,wheat,Import Quantity,2020,t,10\n"
        + "A,B,wheat,Export Quantity,2020,t,9\n"
        + "A,B,wheat,Export Value,2020,1000 US$,50\n"
        + "C,A,wheat,Import Quantity,2020,t,\n"
    )
    by_importer = read_trade_matrix(path)
    assert by_importer.to_dict("records") == [
        {"exporter": "A", "importer": "B", "commodity": "wheat", "quantity": 10.0}
    ]
    by_exporter = read_trade_matrix(path, reported_by="exporter")
    assert by_exporter.to_dict("records") == [
        {"exporter": "A", "importer": "B", "commodity": "wheat", "quantity": 9.0}
    ]


def test_production_pairs_elements_and_picks_a_year(tmp_path):
    path = tmp_path / "qcl.csv"
    path.write_text(
        PRODUCTION_HEADER
        + "A,wheat,Production,2019,t,7,\n"
        + "A,wheat,Production,2020,t,8,\n"
        + "A,wheat,Area harvested,2020,ha,2,\n"
        + "B,wheat,Production,2020,tonnes,5,\n"
    )
    with pytest.raises(InputError, match=r"has years 2019\.\.2020 — choose one year$"):
        read_production(path)
    table = read_production(path, year=2020)
    assert table.to_dict("records") == [
        {"country": "A", "commodity": "wheat", "production": 8.0, "harvested_area": 2.0},
        {"country": "B", "commodity": "wheat", "production": 5.0, "harvested_area": 0.0},
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("A,wheat,Production,2020,t,12O,", "row 3, column 'Value': '12O' is not a number >= 0"),
        ("A,wheat,Production,2020,t,-4,", "row 3, column 'Value': '-4' is not a number >= 0"),
        ("A,wheat,Area harvested,2020,1000 ha,4,", "row 3, column 'Unit': '1000 ha' is not one of ha"),
    ],
)
def test_bad_row_names_file_row_and_column(tmp_path, line, message):
    path = tmp_path / "qcl.csv"
    path.write_text(PRODUCTION_HEADER + "A,wheat,Production,2020,t,8,\n" + line + "\n")
    with pytest.raises(InputError) as error:
        read_production(path)
    text = str(error.value)
    assert text.startswith(f"{path}: {message}")
    assert "\n" not in text


def test_missing_column_and_missing_file(tmp_path):
    path = tmp_path / "tm.csv"
    path.write_text("Reporter Countries,Item,Element,Unit,Value\nA,wheat,Import Quantity,t,1\n")
    with pytest.raises(InputError, match=r"tm\.csv: has no column 'Partner Countries'"):
        read_trade_matrix(path)
    with pytest.raises(InputError, match="does not exist"):
        read_production(tmp_path / "nothing.csv")
