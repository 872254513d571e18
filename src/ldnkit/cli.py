"""The ``ldnkit`` command: thin — parse, call the run, print, set the exit status.

Exit status: 0 ok, 2 bad input or settings (one line on stderr, no traceback), 1 a bug.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ldnkit.errors import LdnError
from ldnkit.version import __version__

app = typer.Typer(
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},  # inherited by every subcommand
    no_args_is_help=True,
    help="Land Degradation Neutrality monitoring and reporting (SDG 15.3.1), offline and fast.",
)
err_console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        print(f"ldnkit {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """ldnkit: SDG 15.3.1 and UNCCD reporting from raw layers."""


def _fail(exc: LdnError) -> None:
    err_console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="YAML run config (see docs/config.md).")],
    scheduler: Annotated[
        str | None,
        typer.Option(help="threads (default), processes, or a dask scheduler address tcp://host:8786."),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="Replace a previous ldnkit run (the config key overwrite)."),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Compute SDG 15.3.1 and its sub-indicators for every period of CONFIG (and drought, SO 3, when it has
    a 'drought:' section) and write the outputs."""
    from ldnkit.config import load_config
    from ldnkit.run import run as run_stages

    try:
        cfg = load_config(config)
        cfg.overwrite = cfg.overwrite or overwrite
        result = run_stages(cfg, quiet=quiet, scheduler=scheduler, console=err_console)
    except LdnError as exc:
        _fail(exc)
    if quiet:
        print(result.output)


@app.command()
def drought(
    config: Annotated[Path, typer.Argument(help="YAML run config with a 'drought:' section.")],
    scheduler: Annotated[
        str | None,
        typer.Option(help="threads (default), processes, or a dask scheduler address tcp://host:8786."),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="Replace a previous ldnkit run (the config key overwrite)."),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Compute only the drought part (SO 3: SPI hazard, exposure, vulnerability) of CONFIG."""
    from ldnkit.config import load_config
    from ldnkit.errors import ConfigError
    from ldnkit.run import DroughtStage
    from ldnkit.run import run as run_stages

    try:
        cfg = load_config(config)
        cfg.overwrite = cfg.overwrite or overwrite
        if cfg.drought is None:
            raise ConfigError(str(config), "has no 'drought:' section", "add one (see docs/drought.md)")
        stages = [DroughtStage()]  # the drought stage alone: no grid, SO1 or LDN work
        result = run_stages(cfg, stages=stages, quiet=quiet, scheduler=scheduler, console=err_console)
    except LdnError as exc:
        _fail(exc)
    if quiet:
        print(result.output)


@app.command()
def footprint(
    config: Annotated[Path, typer.Argument(help="YAML run config with a 'footprint:' section.")],
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="Replace a previous ldnkit run (the config key overwrite)."),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Compute only the land footprint (M7) of CONFIG: land and degraded land embodied in the reporting
    country's consumption; degraded shares from footprint.degraded_shares (a previous run folder, a table)."""
    from ldnkit.config import load_config
    from ldnkit.run import run as run_stages
    from ldnkit.run.footprint import FootprintStage, footprint_only

    try:
        cfg = load_config(config)
        cfg.overwrite = cfg.overwrite or overwrite
        footprint_only(cfg, config)
        # the footprint stage alone: no grid, SO1 or LDN work
        result = run_stages(cfg, stages=[FootprintStage()], quiet=quiet, console=err_console)
    except LdnError as exc:
        _fail(exc)
    if quiet:
        print(result.output)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo inputs and run.")] = Path("ldnkit-demo"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Build a synthetic landscape with planted processes, run the pipeline, and show what it recovered."""
    from ldnkit.demo import print_demo_report, print_neutrality_report, run_demo

    try:
        result, table = run_demo(out, quiet=quiet)
    except LdnError as exc:
        _fail(exc)
    console = Console()
    print_demo_report(table, console)
    print_neutrality_report(result.output, console)
    console.print(f"Outputs: {result.output}")
    from ldnkit.report import REPORT_NAME, write_report

    report_path = Path(result.output) / REPORT_NAME
    if not report_path.exists():  # the pipeline writes it at the end of a run; older runs get it here
        report_path = write_report(result.output)
    print(f"Report: {report_path.resolve()}")


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="Output folder of a run (holds summary.json).")],
    max_map_pixels: Annotated[
        int, typer.Option(help="Pixels read per map (decimated); more is sharper and slower.")
    ] = 600_000,
) -> None:
    """Write RUN_DIR/report.html: one self-contained HTML file with the headline figures, maps,
    charts, PRAIS tables, methods, data sources and warnings of a run. Prints its path."""
    from ldnkit.report import write_report

    try:
        path = write_report(run_dir, max_map_pixels=max_map_pixels)
    except LdnError as exc:
        _fail(exc)
    print(path.resolve())


#: the registry's commands parse their own arguments (and -h): everything after the name is passed on
_FORWARD = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


def _registry_cli(command: str):
    """The registry's Typer app, imported only when a registry command runs: it pulls SQLAlchemy and
    the store (about a third of the CLI's start-up) that no other command needs."""
    try:
        from ldnkit.registry import cli as registry_cli
    except ImportError as exc:  # psycopg or the service packages missing: say how to install them
        _fail(
            LdnError(f"ldnkit {command}", f"needs the '{exc.name}' package", "pip install 'ldnkit[registry]'")
        )
    return registry_cli


@app.command(context_settings=_FORWARD, add_help_option=False)
def registry(ctx: typer.Context) -> None:
    """The activity registry: create, import, export, list, compile, tokens (ldnkit registry -h)."""
    _registry_cli("registry").app(ctx.args, prog_name="ldnkit registry")


@app.command(context_settings=_FORWARD, add_help_option=False)
def serve(ctx: typer.Context) -> None:
    """Serve the activity registry (OGC API Features and its web page; ldnkit serve -h)."""
    _registry_cli("serve").serve_app(ctx.args, prog_name="ldnkit serve")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
