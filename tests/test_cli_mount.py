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


def test_serve_is_registry_serve():
    runner = CliRunner()
    top, sub = runner.invoke(app, ["serve", "--help"]), runner.invoke(app, ["registry", "serve", "--help"])
    assert top.exit_code == 0 and sub.exit_code == 0
    for option in ("--registry", "--host", "--port", "--private-reads", "--run"):
        assert option in top.output and option in sub.output
    assert top.output.split("Options")[1] == sub.output.split("Options")[1]
