"""Progress feedback for long runs: one rich bar per stage, fed by dask's task callbacks.

A stage may run several dask computations (e.g. computing the layers, then converting them to
COGs): the bar counts the tasks of all of them, and its rate is the stage's pixels per second
(the grid's pixels times the fraction of tasks done, over the time elapsed). On a
dask.distributed cluster local callbacks see nothing, so a stage prints one line when it starts
and its duration when it ends.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from dask.callbacks import Callback
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn


def _rate(px_per_s: float) -> str:
    return f"{px_per_s / 1e6:.2f} M px/s" if px_per_s >= 1e5 else f"{px_per_s / 1e3:.1f} k px/s"


class _DaskBar(Callback):
    """Advances a rich task as dask finishes tasks (local schedulers only)."""

    def __init__(self, progress: Progress, task_id, pixels: int | None) -> None:
        super().__init__()
        self.progress, self.task_id, self.pixels = progress, task_id, pixels
        self.start = time.perf_counter()
        self.done_before = 0  # tasks of the stage's earlier computations
        self.total_before = 0
        self.total = 1

    def _start_state(self, dsk, state) -> None:
        n = sum(len(state[k]) for k in ("ready", "waiting", "running", "finished") if k in state)
        self.total = max(n, 1)
        self.progress.update(self.task_id, total=self.total_before + self.total)

    def _posttask(self, key, result, dsk, state, worker_id) -> None:
        done = self.done_before + len(state["finished"])
        fields = {}
        if self.pixels:
            fraction = done / max(self.total_before + self.total, 1)
            rate = self.pixels * fraction / max(time.perf_counter() - self.start, 1e-9)
            fields["rate"] = _rate(rate)
        self.progress.update(self.task_id, completed=done, **fields)

    def _finish(self, dsk, state, errored) -> None:
        self.done_before += self.total
        self.total_before += self.total
        self.total = 0


class Feedback:
    """Stage messages and bars; silent when ``quiet``. Set ``distributed`` when the work runs on
    a dask.distributed cluster (stages then print lines instead of bars)."""

    def __init__(
        self, quiet: bool = False, console: Console | None = None, distributed: bool = False
    ) -> None:
        self.quiet = quiet
        self.console = console or Console(stderr=True)
        self.distributed = distributed

    def say(self, text: str) -> None:
        if not self.quiet:
            self.console.print(text)

    @contextmanager
    def stage(self, name: str, pixels: int | None = None, distributed: bool = False) -> Iterator[None]:
        """A bar for the dask work done inside the block, with its rate in pixels per second when
        ``pixels`` (the grid's size) is given; a plain line on a distributed cluster."""
        if self.quiet:
            yield
            return
        if distributed or self.distributed:
            t0 = time.perf_counter()
            self.console.print(f"[bold]{name}[/] on the cluster ...")
            yield
            dt = time.perf_counter() - t0
            rate = f", {_rate(pixels / dt)}" if pixels and dt > 0 else ""
            self.console.print(f"  done in {dt:.1f} s{rate}")
            return
        columns = [
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>5.1f}%"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
        ]
        with Progress(*columns, console=self.console, transient=False) as progress:
            task_id = progress.add_task(name, total=None, rate="")
            with _DaskBar(progress, task_id, pixels):
                yield
            total = progress.tasks[task_id].total
            progress.update(task_id, completed=total)
