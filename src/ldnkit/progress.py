"""Progress feedback for long runs: one rich bar per stage, fed by dask's task callbacks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from dask.callbacks import Callback
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn


class _DaskBar(Callback):
    """Advances a rich task as dask finishes tasks (local schedulers only)."""

    def __init__(self, progress: Progress, task_id, pixels: int | None) -> None:
        super().__init__()
        self.progress, self.task_id, self.pixels = progress, task_id, pixels
        self.start = time.perf_counter()

    def _start_state(self, dsk, state) -> None:
        total = sum(len(state[k]) for k in ("ready", "waiting", "running", "finished") if k in state)
        self.progress.update(self.task_id, total=max(total, 1))

    def _posttask(self, key, result, dsk, state, worker_id) -> None:
        done = len(state["finished"])
        fields = {}
        if self.pixels:
            total = self.progress.tasks[self.task_id].total or 1
            rate = self.pixels * done / total / max(time.perf_counter() - self.start, 1e-9)
            fields["rate"] = f"{rate / 1e6:.2f} M px/s"
        self.progress.update(self.task_id, completed=done, **fields)


class Feedback:
    """Stage messages and bars; silent when ``quiet``."""

    def __init__(self, quiet: bool = False, console: Console | None = None) -> None:
        self.quiet = quiet
        self.console = console or Console(stderr=True)

    def say(self, text: str) -> None:
        if not self.quiet:
            self.console.print(text)

    @contextmanager
    def stage(self, name: str, pixels: int | None = None, distributed: bool = False) -> Iterator[None]:
        """A bar for the dask work done inside the block (a plain line on a distributed cluster)."""
        if self.quiet:
            yield
            return
        if distributed:
            t0 = time.perf_counter()
            self.console.print(f"[bold]{name}[/] on the cluster ...")
            yield
            self.console.print(f"  done in {time.perf_counter() - t0:.1f} s")
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
