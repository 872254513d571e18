"""The degraded-land extension: shares from SO1 status x land cover areas, checks, use in both methods."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ldnkit.codes import CROPLAND, DEGRADED, GRASSLAND, IMPROVED, STABLE, TREE
from ldnkit.errors import InputError
from ldnkit.footprint import check_degraded_share, degraded_share_from_areas, trade_flow_footprint


def test_shares_from_status_and_land_cover_areas():
    areas = pd.DataFrame(
        {
            "region": ["A", "A", "A", "A", "A", "B", "B", "B"],
            "land_cover": [CROPLAND, CROPLAND, CROPLAND, CROPLAND, TREE, GRASSLAND, GRASSLAND, CROPLAND],
            "status": [DEGRADED, STABLE, IMPROVED, -32768, DEGRADED, DEGRADED, STABLE, -32768],
            "area": [2.0, 5.0, 3.0, 50.0, 9.0, 1.0, 1.0, 4.0],
        }
    )
    shares = degraded_share_from_areas(areas)
    # no-data pixels and non-agricultural land are left out; B has no cropland with a status
    assert shares.to_dict("records") == [
        {"region": "A", "land_use": "cropland", "degraded_share": 0.2},
        {"region": "B", "land_use": "grazing", "degraded_share": 0.5},
    ]
    check_degraded_share(shares)  # what it returns is a valid extension table


def test_shares_feed_the_trade_flow_method():
    areas = pd.DataFrame(
        {"region": ["A", "A"], "land_cover": [CROPLAND] * 2, "status": [DEGRADED, STABLE], "area": [1.0, 3.0]}
    )
    production = pd.DataFrame(
        {"country": ["A"], "commodity": ["wheat"], "production": [8.0], "harvested_area": [4.0]}
    )
    trade = pd.DataFrame({"exporter": ["A"], "importer": ["B"], "commodity": ["wheat"], "quantity": [2.0]})
    flows = trade_flow_footprint(production, trade, degraded_share=degraded_share_from_areas(areas))
    assert flows.set_index("consumer")["degraded_hectares"].to_dict() == {"A": 0.75, "B": 0.25}


def test_duplicate_share_is_an_input_error():
    shares = pd.DataFrame(
        {"region": ["A", "A"], "land_use": ["cropland", "cropland"], "degraded_share": [0.1, np.nan]}
    )
    with pytest.raises(InputError, match=r"row 2, column 'degraded_share': 'nan' is not a fraction"):
        check_degraded_share(shares)
    shares.loc[1, "degraded_share"] = 0.2
    with pytest.raises(
        InputError, match=r"^degraded_share: row 2: region 'A' and land use 'cropland' are given twice"
    ):
        check_degraded_share(shares)
