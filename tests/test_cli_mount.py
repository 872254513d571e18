"""The main CLI mounts the registry's commands under ``ldnkit registry``."""

from typer.testing import CliRunner

from ldnkit.cli import app


def test_registry_is_a_subcommand_of_ldnkit(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["registry", "--help"])
    assert res.exit_code == 0 and "token" in res.output and "serve" in res.output
    path = tmp_path / "reg.gpkg"
    res = runner.invoke(app, ["registry", "init", str(path)])
    assert res.exit_code == 0, res.output
    assert path.is_file()
