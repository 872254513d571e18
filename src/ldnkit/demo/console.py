"""What ``ldnkit demo`` prints: the planted-truth table, and the neutrality balance sheet and
targets of a finished run (read from its summary.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from rich import box
from rich.table import Table

from ldnkit.codes import AOI_SCOPE

if TYPE_CHECKING:
    from rich.console import Console

#: Land types printed by :func:`print_neutrality_report` (the largest).
PRINTED_LAND_TYPES = 12


def print_demo_report(df: pd.DataFrame, console: Console) -> None:
    """Print :func:`evaluate_demo`'s table with rich: green >= 90 %, yellow >= 75 %, red below."""
    table = Table(
        title="ldnkit demo: planted processes recovered",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("Process", ratio=1, min_width=12)
    table.add_column("Period", no_wrap=True)
    table.add_column("Layer", no_wrap=True)
    for col in ("Codes", "Pixels", "Recovered"):
        table.add_column(col, justify="right", no_wrap=True)
    notes: list[str] = []
    previous = None
    for row in df.itertuples(index=False):
        share = row.recovered
        if share != share:  # NaN: layer missing or nothing to check
            shown = "[red]missing[/red]" if row.pixels else "[dim]n/a[/dim]"
        else:
            colour = "green" if share >= 90 else "yellow" if share >= 75 else "red"
            shown = f"[{colour}]{share:5.1f} %[/{colour}]"
        layer = row.layer
        if row.condition:  # footnote, so the table stays narrow
            if row.condition not in notes:
                notes.append(row.condition)
            layer += " " + "*" * (notes.index(row.condition) + 1)
        table.add_row(
            row.process if row.process != previous else "",
            row.period,
            layer,
            f"{{{row.expected}}}",
            f"{row.pixels:,}",
            shown,
        )
        previous = row.process
    console.print(table)
    for i, note in enumerate(notes, start=1):
        console.print(f"[dim]{'*' * i} only {note}[/dim]")
    valid = df["recovered"].dropna()
    if len(valid):
        console.print(
            f"Recovered {valid.mean():.1f} % on average; lowest {valid.min():.1f} % "
            f"({(valid >= 90).sum()} of {len(df)} checks at 90 % or more)."
        )


def _km2(v: float | None) -> str:
    return "" if v is None else f"{v:,.2f}"


def _balance_table(ldn: dict) -> Table:
    """The balance sheet of the area of interest: the largest land types, then the verdict over all
    of them (the rest are in tables.xlsx)."""
    table = Table(
        title=f"LDN balance sheet, {ldn['period']} (area of interest, km²)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("Land type (largest first)", ratio=1, min_width=16)
    for col in ("Gains", "Losses", "ΔLDN", "ΔLDN %", "LDN"):
        table.add_column(col, justify="right", no_wrap=True)
    rows = [r for r in ldn.get("balance_sheet", []) if r.get("Scope", AOI_SCOPE) == AOI_SCOPE]
    types = [r for r in rows if str(r.get("Land type")) != "All land types"]
    shown = sorted(types, key=lambda r: -(r.get("Total (km²)") or 0.0))[:PRINTED_LAND_TYPES]
    hidden = len(types) - len(shown)
    rows = [r for r in rows if r in shown or str(r.get("Land type")) == "All land types"]
    for r in rows:
        total = str(r.get("Land type")) == "All land types"
        ok = bool(r.get("LDN achieved"))
        mark = "[green]achieved[/green]" if ok else "[red]not achieved[/red]"
        # "soil: Vertisols · climate: ..." -> "Vertisols · ...": the components' values suffice here
        short = " · ".join(p.split(": ", 1)[-1] for p in str(r.get("Land type name", "")).split(" · "))
        name = "All land types" if total else f"{r.get('Land type')}. {short}"
        if total and hidden:
            table.add_row(f"[dim]… {hidden} smaller land types: tables.xlsx, sheet LDN-2[/dim]")
        pct = r.get("ΔLDN (% of land type)")
        table.add_row(
            f"[bold]{name}[/bold]" if total else name,
            _km2(r.get("Gains (km²)")),
            _km2(r.get("Losses (km²)")),
            _km2(r.get("ΔLDN (km²)")),
            "" if pct is None else f"{pct:+.1f} %",
            mark,
            end_section=total,
        )
    return table


def _targets_table(targets: list[dict]) -> Table:
    """The voluntary targets with their progress."""
    table = Table(title="Voluntary targets (SO1-VT.T1)", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("Target", "Scope", "Year", "Current", "Target value", "Progress", "Status"):
        table.add_column(col, no_wrap=col not in ("Scope", "Status"))
    for t in targets:
        prog = t.get("Progress (%)")
        cur, val = t.get("Current value"), t.get("Target value")
        table.add_row(
            str(t.get("Target", "")),
            str(t.get("Scope", "")),
            str(t.get("Target year", "")),
            "" if cur is None else (f"{cur:,.2f}" if isinstance(cur, int | float) else str(cur)),
            "" if val is None else (f"{val:,.2f}" if isinstance(val, int | float) else str(val)),
            "" if prog is None else f"{prog:.0f} %",
            str(t.get("Status", "")),
        )
    return table


def print_neutrality_report(run_dir: Path, console: Console) -> None:
    """Print the neutrality balance sheet (per land type, with the verdict) and the progress of the
    voluntary targets of a finished run, read from ``run_dir/summary.json``."""
    summary = json.loads((Path(run_dir) / "summary.json").read_text())
    ldn = summary.get("neutrality")
    if not ldn:
        console.print("[dim]This run has no neutrality accounting (no 'neutrality:' section).[/dim]")
        return
    console.print(_balance_table(ldn))
    verdict = ldn.get("verdict", {})
    colour = "green" if verdict.get("ldn_achieved") else "red"
    console.print(f"[{colour}]{verdict.get('text', '')}[/{colour}]")
    targets = ldn.get("targets") or []
    if targets:
        console.print(_targets_table(targets))
