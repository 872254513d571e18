"""MRIO land footprints through pymrio: the Miller and Blair textbook case, pymrio's test system."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ldnkit.errors import InputError
from ldnkit.footprint import add_land_extensions, land_accounts, mrio_land_footprint
from ldnkit.io.trade import bundled_example

pymrio = pytest.importorskip("pymrio")


def miller_blair() -> pymrio.IOSystem:
    """Miller and Blair (2009) Table 2.3 as two regions of one sector each."""
    index = pd.MultiIndex.from_tuples([("r1", "goods"), ("r2", "goods")], names=["region", "sector"])
    demand = pd.MultiIndex.from_tuples(
        [("r1", "households"), ("r2", "households")], names=["region", "category"]
    )
    z = pd.DataFrame([[150.0, 500.0], [200.0, 100.0]], index=index, columns=index)
    y = pd.DataFrame([[350.0, 0.0], [0.0, 1700.0]], index=index, columns=demand)
    return pymrio.IOSystem(Z=z, Y=y, unit=pd.DataFrame({"unit": "M USD"}, index=index))


MB_LAND = pd.DataFrame(
    {
        "region": ["r1", "r2"],
        "sector": ["goods", "goods"],
        "land_use": ["cropland"] * 2,
        "hectares": [500.0, 100.0],
    }
)


def test_miller_blair_leontief_and_footprints():
    io = miller_blair()
    flows = mrio_land_footprint(io, MB_LAND)
    np.testing.assert_allclose(io.x.to_numpy().ravel(), [1000.0, 2000.0])
    np.testing.assert_allclose(io.A.to_numpy(), [[0.15, 0.25], [0.20, 0.05]])
    np.testing.assert_allclose(io.L.to_numpy(), [[1.254125, 0.330033], [0.264026, 1.122112]], atol=5e-7)
    by_consumer = flows.groupby("consumer")["hectares"].sum()
    np.testing.assert_allclose(by_consumer[["r1", "r2"]], [224.09, 375.91], atol=0.005)
    assert flows["hectares"].sum() == pytest.approx(600.0)
    # bilateral: producer r1's land in r2's demand = e1 * L12 * y2 = 0.5 * 0.330033 * 1700
    pair = flows.set_index(["producer", "consumer"])["hectares"]
    assert pair[("r1", "r2")] == pytest.approx(0.5 * 0.33003300 * 1700)
    assert pair[("r2", "r2")] == pytest.approx(0.05 * 1.12211221 * 1700)
    assert list(flows.columns) == [
        "producer",
        "consumer",
        "sector",
        "land_use",
        "hectares",
        "degraded_hectares",
    ]
    assert flows["degraded_hectares"].isna().all()


def test_miller_blair_extensions_match_pymrio_accounts():
    io = miller_blair()
    share = pd.DataFrame({"region": ["r1", "r2"], "land_use": ["cropland"] * 2, "degraded_share": [0.2, 0.5]})
    add_land_extensions(io, MB_LAND, share)
    io.calc_all()
    np.testing.assert_allclose(io.land.D_cba_reg.to_numpy().ravel(), [224.09, 375.91], atol=0.005)
    flows = mrio_land_footprint(miller_blair(), MB_LAND, degraded_share=share)
    degraded = flows.groupby("consumer")["degraded_hectares"].sum()
    np.testing.assert_allclose(degraded[["r1", "r2"]], io.degraded_land.D_cba_reg.to_numpy().ravel())
    assert io.degraded_land.unmapped == []


def _test_system_tables():
    paths = bundled_example()
    return pd.read_csv(paths["mrio_land"]), pd.read_csv(paths["mrio_degraded_share"])


@pytest.mark.parametrize("by_producing_sector", [False, True])
def test_equals_pymrio_cba_on_its_test_system(by_producing_sector):
    land, share = _test_system_tables()
    flows = mrio_land_footprint(
        pymrio.load_test(), land, degraded_share=share, by_producing_sector=by_producing_sector
    )
    reference = add_land_extensions(pymrio.load_test(), land, share).calc_all()
    for column, extension in (("hectares", reference.land), ("degraded_hectares", reference.degraded_land)):
        ours = flows.groupby(["land_use", "consumer", "sector"])[column].sum().unstack(["consumer", "sector"])
        ours = ours.reindex(index=extension.D_cba.index, columns=extension.D_cba.columns, fill_value=0.0)
        np.testing.assert_allclose(ours.to_numpy(), extension.D_cba.to_numpy(), rtol=1e-10)
        by_region = flows.groupby(["land_use", "consumer"])[column].sum().unstack("consumer")
        np.testing.assert_allclose(by_region.to_numpy(), extension.D_cba_reg.to_numpy(), rtol=1e-10)
    # every hectare used by industry is somewhere in final demand
    assert flows["hectares"].sum() == pytest.approx(land["hectares"].sum(), rel=1e-10)
    produced = flows.groupby("producer")["hectares"].sum()
    np.testing.assert_allclose(
        produced, land.groupby("region")["hectares"].sum().loc[produced.index], rtol=1e-10
    )


def test_unmapped_producer_is_unknown_not_zero():
    land, share = _test_system_tables()
    share = share[share["region"] != "reg3"]
    flows = mrio_land_footprint(pymrio.load_test(), land, degraded_share=share)
    assert flows.loc[flows["producer"] == "reg3", "degraded_hectares"].isna().all()
    assert flows.loc[flows["producer"] != "reg3", "degraded_hectares"].notna().all()
    io = add_land_extensions(pymrio.load_test(), land, share)
    assert io.degraded_land.unmapped == [("reg3", "cropland"), ("reg3", "grazing")]


def test_land_accounts_shape():
    land, _ = _test_system_tables()
    io = pymrio.load_test()
    accounts = land_accounts(io, land)
    assert list(accounts.index) == ["cropland", "grazing"]
    assert accounts.shape[1] == len(io.Z.index)
    assert accounts.to_numpy().sum() == pytest.approx(land["hectares"].sum())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"region": "nowhere"}, "land: row 1, column 'region': 'nowhere' is not a region of the MRIO system"),
        ({"sector": "fishing"}, "land: row 1, column 'sector': 'fishing' is not a sector of the MRIO system"),
        ({"hectares": -3.0}, "land: row 1, column 'hectares': '-3.0' is not a number >= 0"),
    ],
)
def test_bad_land_table(change, message):
    land, _ = _test_system_tables()
    land = land.astype({"hectares": object})
    for column, value in change.items():
        land.loc[0, column] = value
    with pytest.raises(InputError) as error:
        mrio_land_footprint(pymrio.load_test(), land)
    assert str(error.value) == message
    assert "\n" not in str(error.value)
