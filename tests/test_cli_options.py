"""-h is --help everywhere; --overwrite does what the config key does."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from ldnkit.cli import app
from ldnkit.demo import build_demo_inputs

runner = CliRunner()


@pytest.mark.parametrize("command", [[], ["run"], ["drought"], ["report"], ["demo"], ["registry"]])
def test_dash_h_is_help(command):
    res = runner.invoke(app, [*command, "-h"])
    assert res.exit_code == 0 and "Usage" in res.output


@pytest.mark.slow
def test_overwrite_flag_replaces_a_previous_run(tmp_path):
    case = build_demo_inputs(tmp_path / "inputs", size=100, output=tmp_path / "run")
    cfg = yaml.safe_load(case.config_path.read_text())
    cfg["overwrite"] = False
    cfg["report"] = {"html": False, "qgis_project": False}
    for section in ("drought", "neutrality", "corrections"):
        cfg.pop(section, None)
    case.config_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    assert runner.invoke(app, ["run", str(case.config_path), "-q"]).exit_code == 0
    again = runner.invoke(app, ["run", str(case.config_path), "-q"])
    assert again.exit_code == 2 and "--overwrite" in again.output
    assert runner.invoke(app, ["run", str(case.config_path), "-q", "--overwrite"]).exit_code == 0


@pytest.mark.parametrize("units", ["mm", "in", "inch", "inches", "millimetres"])
def test_precipitation_units_take_every_spelling_the_reader_knows(units):
    from ldnkit.config import parse_config

    cfg = parse_config({"output": "out", "drought": {"precipitation": {"path": "p.nc", "units": units}}})
    assert cfg.drought.precipitation.units == units


def test_config_errors_come_all_at_once_with_spelling_suggestions():
    from ldnkit.config import parse_config
    from ldnkit.errors import ConfigError

    data = {"outptu": "o", "drought": {"precipitaton": {"path": "p.nc"}}}
    with pytest.raises(ConfigError) as exc:
        parse_config(data)
    line = str(exc.value)
    assert "\n" not in line
    assert "outptu" in line and "(did you mean 'output'?)" in line
    assert "drought.precipitaton" in line and "(did you mean 'precipitation'?)" in line
    assert "output is required" in line and "2 more" in line
    with pytest.raises(ConfigError, match="unknown key") as exc:  # nothing close: no suggestion
        parse_config({"output": "o", "zzzzzz": 1})
    assert "did you mean" not in str(exc.value)
