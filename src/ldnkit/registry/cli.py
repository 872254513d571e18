"""``ldnkit registry ...``: create a registry, import and export activities, list them, manage tokens.

A Typer sub-app (mounted under ``ldnkit registry``). The registry is a GeoPackage file path or a
``postgresql://`` URL, given with ``--registry`` or the ``LDNKIT_REGISTRY`` environment variable.
Exit status: 0 ok, 2 bad input (one line on stderr naming the field), 1 a bug.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from shapely import union_all

from ldnkit.errors import LdnError
from ldnkit.registry.bulk import export_file, import_file, read_rows
from ldnkit.registry.query import ActivityQuery
from ldnkit.registry.store import Store, open_store
from ldnkit.registry.vocabulary import ROLES

app = typer.Typer(
    help="The activity registry: restoration and sustainable land management activities.",
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
token_app = typer.Typer(help="Bearer tokens of the registry service (stored hashed).")
app.add_typer(token_app, name="token")
console = Console()
err_console = Console(stderr=True)

REGISTRY = typer.Option("registry.gpkg", "--registry", "-r", envvar="LDNKIT_REGISTRY", help="File or URL.")
BY = typer.Option(None, "--by", help="Who makes the change (audit log); default: the login name.")


@contextmanager
def _registry(location: str, upgrade: bool = False) -> Iterator[Store]:
    """Open the registry; a user error ends the command with one line on stderr and status 2."""
    store = None
    try:
        store = open_store(location, upgrade=upgrade)
        yield store
    except LdnError as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    finally:
        if store is not None:
            store.close()


@app.command("init")
def init(
    location: str = typer.Argument(..., help="A new or existing GeoPackage file, or postgresql://..."),
    boundary: Annotated[
        Path | None, typer.Option(help="Polygon file of the country: activities must lie inside.")
    ] = None,
) -> None:
    """Create the registry (or migrate it to the newest schema)."""
    with _registry(location, upgrade=True) as store:
        if boundary is not None:
            store.set_boundary(union_all([row["geometry"] for row in read_rows(boundary)]))
        console.print(f"registry ready: {store!r} ({store.backend})", highlight=False)


@app.command("import")
def import_activities(file: Path, registry: str = REGISTRY, by: str = BY) -> None:
    """Import activities from a GeoPackage, GeoJSON or CSV (WKT) file: all of them or none."""
    with _registry(registry) as store:
        ids = import_file(store, file, by or getpass.getuser())
        console.print(f"imported {len(ids)} activities from {file}", highlight=False)


@app.command("export")
def export_activities(file: Path, registry: str = REGISTRY) -> None:
    """Export every activity to a GeoPackage, GeoJSON or CSV (WKT) file."""
    with _registry(registry) as store:
        count = export_file(store, file)
        console.print(f"exported {count} activities to {file}", highlight=False)


@app.command("list")
def list_activities(
    registry: str = REGISTRY,
    status: str = typer.Option(
        None, help="draft, pending_approval, information_required, approved, rejected"
    ),
    level: str = typer.Option(None, help="avoid, reduce or reverse"),
    practice: str = typer.Option(None, help="A practice code of the catalogue, e.g. V1"),
    region: str = typer.Option(None),
    limit: int = typer.Option(100),
    offset: int = typer.Option(0),
) -> None:
    """List activities (id, name, site, status, level, computed area in ha, version)."""
    with _registry(registry) as store:
        query = ActivityQuery(
            status=status, level=level, practice=practice, region=region, limit=limit, offset=offset
        )
        page = store.query(query)
        table = Table("id", "name", "site", "status", "level", "area (ha)", "version")
        for rec in page.items:
            table.add_row(
                rec["id"], rec["name"], rec["site"], rec["status"], rec["level"] or "",
                f"{rec['computed_area_ha']:.2f}", str(rec["version"]),
            )  # fmt: skip
        console.print(table)
        console.print(f"{len(page.items)} of {page.matched} activities", highlight=False)


@app.command("serve")
def serve_registry(
    registry: str = REGISTRY,
    host: str = typer.Option("127.0.0.1", help="Address to bind; 127.0.0.1 keeps it on this machine."),
    port: int = typer.Option(8000),
    private_reads: bool = typer.Option(False, help="Require a viewer token to read."),
    run: Annotated[
        Path | None, typer.Option(help="A run folder: the web page shows its SO1 status and LPD.")
    ] = None,
) -> None:
    """Serve the registry as OGC API Features and its web page at / (reads public unless
    --private-reads; writes need a token)."""
    from ldnkit.registry.service import ServiceSettings, serve

    settings = ServiceSettings(
        host=host, port=port, public_reads=not private_reads, run_folder=str(run) if run else None
    )
    try:
        serve(registry, settings)
    except LdnError as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


#: ``ldnkit serve`` (the same command as ``ldnkit registry serve``)
serve_app = typer.Typer(
    help="Serve the activity registry.",
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
serve_app.command("serve")(serve_registry)


@app.command("compile")
def compile_activities(
    location: Annotated[str, typer.Argument(help="The registry: a GeoPackage file or postgresql://...")],
    regions: Annotated[Path, typer.Option(help="Polygon file of the administrative units.")],
    name_field: Annotated[str, typer.Option(help="Field of --regions naming each unit.")],
    status: Annotated[
        Path | None, typer.Option(help="A run folder: compile against its last SO1 status, on its grid.")
    ] = None,
    statuses: Annotated[list[str] | None, typer.Option("--statuses", help="Statuses counted.")] = None,
    output: Annotated[Path | None, typer.Option(help="Write the per-region table (CSV) here.")] = None,
) -> None:
    """Area under restoration per administrative unit (ACT-1; with --status also the degraded land
    addressed), printed as CSV or written to --output. Overlapping activities count once."""
    from ldnkit.io.vector import read_vector
    from ldnkit.run.activities import compile_run_folder, compile_vectors, read_activities

    try:
        frame = read_activities(location, statuses or ["approved"])
        units = read_vector(regions, key="--regions")
        if status is not None:
            table = compile_run_folder(frame, status, units, name_field)[0]["ACT-1"]
        else:
            table = compile_vectors(frame, units, name_field)
    except LdnError as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    if output is not None:
        table.to_csv(output, index=False)
        err_console.print(f"{len(table)} rows written to {output}", highlight=False)
    else:
        typer.echo(table.to_csv(index=False), nl=False)


@token_app.command("create")
def token_create(
    role: str = typer.Option(..., help=", ".join(ROLES)),
    label: str = typer.Option(..., help="Who holds the token (shown in the audit log)."),
    registry: str = REGISTRY,
) -> None:
    """Create a token and print it ONCE (only its SHA-256 hash is kept)."""
    with _registry(registry) as store:
        token = store.create_token(role, label)
        typer.echo(token)
        err_console.print(f"token for {label!r} ({role}): keep it now, it cannot be shown again")


@token_app.command("revoke")
def token_revoke(
    label: str = typer.Argument(..., help="The label of the token(s)."), registry: str = REGISTRY
) -> None:
    """Revoke every live token with this label."""
    with _registry(registry) as store:
        count = store.revoke_tokens(label)
        console.print(f"revoked {count} token(s) labelled {label!r}", highlight=False)


@token_app.command("list")
def token_list(registry: str = REGISTRY) -> None:
    """List the tokens' labels, roles and dates (never the tokens)."""
    with _registry(registry) as store:
        table = Table("label", "role", "created (UTC)", "revoked (UTC)")
        for row in store.list_tokens():
            table.add_row(
                row["label"], row["role"], str(row["created_at"])[:19], str(row["revoked_at"] or "")[:19]
            )
        console.print(table)
