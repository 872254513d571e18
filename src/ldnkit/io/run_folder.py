"""The run folder: written to a temporary sibling and renamed into place when complete."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from ldnkit.errors import ConfigError


@contextlib.contextmanager
def atomic_output_dir(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling folder ``.<name>.partial-<random>``; rename it to ``path`` when
    the block succeeds, delete it if anything fails — so ``path`` is either complete or absent.

    An existing ``path`` raises :class:`ConfigError` unless ``overwrite``; it is then replaced
    only after success (the old folder is kept if the run fails).

    Example
    -------
    >>> with atomic_output_dir("runs/kenya_2023") as tmp:
    ...     write_layer(sdg, tmp / "sdg.tif", legend=codes.DEGRADATION)
    """
    final = Path(path)
    if final.exists() and not overwrite:
        raise ConfigError(
            str(final),
            "output folder already exists",
            "choose another output folder or allow overwriting (--overwrite)",
        )
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.partial-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    try:
        if final.exists():
            if not overwrite:
                raise ConfigError(
                    str(final),
                    "output folder appeared while the run was going",
                    "choose another output folder or allow overwriting (--overwrite)",
                )
            old = final.parent / f".{final.name}.old-{secrets.token_hex(4)}"
            final.rename(old)
        tmp.rename(final)
    except BaseException:
        if old is not None and not final.exists():
            old.rename(final)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
