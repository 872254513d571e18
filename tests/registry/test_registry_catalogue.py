"""The shipped practice catalogue: its sources, and every row well formed."""

from __future__ import annotations

import pytest

from ldnkit.registry import RegistryError, catalogue
from ldnkit.registry.vocabulary import LEVELS


def test_catalogue_has_sources_and_version():
    cat = catalogue()
    assert cat.version and set(cat.sources) == {"wocat_measure", "wocat_slm_group", "unccd_dslm"}
    assert "Reichhuber" in cat.sources["unccd_dslm"] and "QCAT" in cat.sources["wocat_measure"]


def test_every_practice_is_well_formed():
    cat = catalogue()
    families = {p.family for p in cat.practices.values()}
    assert families == {"wocat_measure", "wocat_slm_group", "unccd_dslm"}
    for code, p in cat.practices.items():
        assert code == p.code and p.name
        assert p.levels and set(p.levels) <= set(LEVELS), code
        assert isinstance(p.drought_relevant, bool)
        assert "ldnkit" in p.tags_by  # every level tag is ours; the docs say why
    measures = [p for p in cat.practices.values() if p.family == "wocat_measure"]
    assert {p.code[0] for p in measures} == {"A", "V", "S", "M"}
    dslm = [p for p in cat.practices.values() if p.family == "unccd_dslm"]
    assert len(dslm) == 14 and all(p.drought_relevant for p in dslm)
    assert {p.group for p in dslm} == {"cropland", "grazing land", "forests and woodlands", "mixed land"}


def test_lookup():
    assert catalogue().practice(" v1 ").name == "Tree and shrub cover"
    with pytest.raises(RegistryError, match="^practices: 'X1' is not a practice code"):
        catalogue().practice("X1")
