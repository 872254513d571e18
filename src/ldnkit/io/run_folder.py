"""The run folder is ldnkit's alone: checked before a run, built aside, swapped in atomically.

A run is written into a temporary sibling ``.<name>.partial-<random>`` holding a marker file
(:data:`MARKER`, JSON: ``ldnkit`` version, ``created``); only when the run succeeds does it replace
``output``. Rules (each refusal is a one-line :class:`~ldnkit.errors.ConfigError` naming ``output``):

- ``output`` must not be an existing file, ``/``, the user's home, the current folder or a folder
  holding any of those, nor be or hold the config file or an input;
- an existing ``output`` is refused unless ``overwrite`` is true, and even then it is replaced only
  if it is empty or a previous ldnkit run (marker present): a folder with anything ldnkit did not
  write is never deleted;
- the swap (old run renamed aside, new one into place, old one removed) runs with SIGINT and SIGTERM
  blocked; a signal pending at its end undoes it, so an interrupt at any moment before the new run
  is in place leaves the previous result untouched, and no hidden folder is left behind.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import secrets
import shutil
import signal
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from ldnkit.errors import ConfigError
from ldnkit.version import __version__

__all__ = ["MARKER", "atomic_output_dir", "check_output_folder", "is_ldnkit_run"]

#: File written into every run folder; its presence is what lets ``overwrite`` replace the folder.
MARKER = ".ldnkit-run"

_WHERE = "output"
_SIGNALS = tuple(s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s)


def is_ldnkit_run(folder: str | os.PathLike) -> bool:
    """True if ``folder`` holds the marker ldnkit writes into every run folder, or is a complete run
    folder of an ldnkit from before the marker (summary.json naming its ldnkit version, and only the
    files such a run writes), so that re-running the demo or an example over it still works."""
    marker = Path(folder) / MARKER
    try:
        return "ldnkit" in json.loads(marker.read_text())
    except (OSError, ValueError, TypeError):
        return _is_run_before_marker(Path(folder))


#: What a run folder of ldnkit 0.1 before the marker holds (anything else: not ours to delete).
_RUN_FILES = {"layers", "summary.json", "tables.xlsx", "report.html", "project.qgs", "boundaries.gpkg"}


def _is_run_before_marker(folder: Path) -> bool:
    try:
        names = {p.name for p in folder.iterdir()}
        summary = json.loads((folder / "summary.json").read_text())
    except (OSError, ValueError, TypeError):
        return False
    return isinstance(summary, dict) and "ldnkit_version" in summary and names <= _RUN_FILES


def _absolute(path: str | os.PathLike) -> Path:
    # Symlinks resolved: an output reached through a link must not hide the folder it points to.
    return Path(os.path.abspath(Path(path).expanduser())).resolve()


def _holds(folder: Path, other: Path) -> bool:
    return other == folder or folder in other.parents


def _refuse(what: str, fix: str) -> ConfigError:
    return ConfigError(_WHERE, what, fix)


def _check_place(final: Path, protected: Iterable[str | os.PathLike]) -> None:
    """Refuse an output that is, or holds, a folder or file the user keeps."""
    fix = "choose a new folder of its own for the run, e.g. runs/<name>"
    places = {Path("/"): "the root folder", _absolute(Path.home()): "your home folder"}
    places[_absolute(Path.cwd())] = "the current folder"
    for place, name in places.items():
        if _holds(final, place):
            what = f"{final} is {name}" if final == place else f"{final} holds {name}"
            raise _refuse(f"{what}; the run folder is replaced whole", fix)
    for item in protected:
        kept = _absolute(item)
        if _holds(final, kept):
            kind = "is" if final == kept else "holds"
            raise _refuse(f"{final} {kind} {kept}, a file the run reads", fix)


def check_output_folder(
    path: str | os.PathLike, overwrite: bool = False, protected: Iterable[str | os.PathLike] = ()
) -> Path:
    """Check that ``path`` may become (or replace) a run folder; return it as an absolute path.

    Parameters
    ----------
    path : the ``output`` folder of a run.
    overwrite : the config's ``overwrite``: may a previous ldnkit run in ``path`` be replaced?
    protected : files and folders the run reads (the config file, every input): ``path`` must not
        be or hold any of them.

    Raises
    ------
    ConfigError (``output: ...``, exit status 2) for every rule in this module's docstring.
    """
    final = _absolute(path)
    _check_place(final, protected)
    if final.exists() and not final.is_dir():
        raise _refuse(f"{final} is a file, not a folder", "give the path of a folder for the run")
    if not final.exists():
        return final
    if not overwrite:
        raise _refuse(
            f"{final} already exists",
            "choose another folder, or set 'overwrite: true' in the config (or run with --overwrite) "
            "to replace a previous run",
        )
    if any(final.iterdir()) and not is_ldnkit_run(final):
        raise _refuse(
            f"{final} holds files ldnkit did not write (no {MARKER} marker), so overwrite will not "
            "replace it",
            "choose a new folder for the run, or empty or remove this one yourself",
        )
    return final


# ------------------------------------------------------------------------------------------------
# Signals: remembered while the run is built, blocked while the folders are swapped
# ------------------------------------------------------------------------------------------------


class _Interrupts:
    """SIGINT and SIGTERM raise KeyboardInterrupt in the run and are remembered (main thread only).

    Remembering matters: a library that swallows the KeyboardInterrupt cannot make the run commit.
    """

    def __init__(self) -> None:
        self.seen = False
        self.active = threading.current_thread() is threading.main_thread() and bool(_SIGNALS)
        self.previous: dict[int, object] = {}

    def _handler(self, signum: int, frame: object) -> None:
        self.seen = True
        raise KeyboardInterrupt(f"signal {signum}")

    def __enter__(self) -> _Interrupts:
        if self.active:
            for sig in _SIGNALS:
                self.previous[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def pending(self) -> bool:
        """A signal arrived (handled, or waiting while blocked)."""
        if self.seen:
            return True
        if self.active and hasattr(signal, "sigpending"):
            return bool(set(signal.sigpending()) & set(_SIGNALS))
        return False

    @contextlib.contextmanager
    def blocked(self) -> Iterator[None]:
        """Defer SIGINT/SIGTERM; a signal sent meanwhile is delivered (raised) on leaving."""
        if not (self.active and hasattr(signal, "pthread_sigmask")):
            yield
            return
        before = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, before)


# ------------------------------------------------------------------------------------------------
# Building and swapping
# ------------------------------------------------------------------------------------------------


def _make_partial(final: Path) -> Path:
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f".{final.name}.partial-{secrets.token_hex(4)}"
        tmp.mkdir()
    except OSError as exc:
        raise _refuse(
            f"cannot create a folder in {final.parent} ({exc.strerror or exc})",
            "choose a folder you can write to",
        ) from None
    created = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    (tmp / MARKER).write_text(json.dumps({"ldnkit": __version__, "created": created}, indent=2) + "\n")
    return tmp


def _swap(tmp: Path, final: Path, interrupts: _Interrupts) -> None:
    """Put ``tmp`` in place of ``final`` (signals blocked by the caller); undo on a pending signal."""
    old = None
    if final.exists():
        old = final.parent / f".{final.name}.old-{secrets.token_hex(4)}"
        final.rename(old)
    try:
        tmp.rename(final)
    except BaseException:
        if old is not None:
            old.rename(final)
        raise
    if interrupts.pending():  # arrived during the renames: the previous result stays
        final.rename(tmp)
        if old is not None:
            old.rename(final)
        raise KeyboardInterrupt("interrupted while the run folder was being replaced")
    if old is not None:
        shutil.rmtree(old)


@contextlib.contextmanager
def atomic_output_dir(
    path: str | os.PathLike, overwrite: bool = False, protected: Iterable[str | os.PathLike] = ()
) -> Iterator[Path]:
    """Yield a temporary sibling folder of ``path`` to write a run into; put it in place of
    ``path`` when the block succeeds, delete it if anything fails or interrupts it — so ``path`` is
    either the complete new run or left exactly as it was.

    ``path``, ``overwrite`` and ``protected`` are checked by :func:`check_output_folder` before
    anything is written, and again just before the swap.

    Example
    -------
    >>> with atomic_output_dir("runs/kenya_2023", protected=["kenya.yaml"]) as tmp:  # doctest: +SKIP
    ...     write_layer(sdg, tmp / "sdg.tif", legend=codes.DEGRADATION)
    """
    protected = list(protected)
    final = check_output_folder(path, overwrite, protected)
    with _Interrupts() as interrupts:
        with interrupts.blocked():
            tmp = _make_partial(final)
        try:
            yield tmp
            if interrupts.pending():
                raise KeyboardInterrupt("interrupted while the run was being written")
            with interrupts.blocked():
                check_output_folder(final, overwrite, protected)  # it may have changed meanwhile
                _swap(tmp, final, interrupts)
        except BaseException:
            with interrupts.blocked():
                shutil.rmtree(tmp, ignore_errors=True)
            raise
