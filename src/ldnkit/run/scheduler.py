"""Where a run's dask work runs: threads, processes, or a dask.distributed cluster; and GDAL's
block cache in every process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import dask
import rasterio

from ldnkit.errors import ConfigError

#: GDAL block cache per process (MB) unless GDAL_CACHEMAX is set: GDAL's default, 5 % of the RAM,
#: would hold up to 1.2 GB of tiles on a 24 GB machine; block-aligned windowed reads and writes
#: need little (reads of a 24-band 1024x1024 window are as fast with 32 MB).
GDAL_CACHE_MB = 256


def gdal_cache_bytes() -> int | None:
    """GDAL's block cache for a run, in bytes; None when GDAL_CACHEMAX is set."""
    return None if os.environ.get("GDAL_CACHEMAX") else GDAL_CACHE_MB * 2**20


def set_gdal_cache() -> None:
    """Set GDAL's block cache of this (worker) process, unless GDAL_CACHEMAX is set."""
    nbytes = gdal_cache_bytes()
    if nbytes:
        from rasterio._env import set_gdal_config

        set_gdal_config("GDAL_CACHEMAX", nbytes)


def gdal_env() -> rasterio.Env:
    """The GDAL environment of a run (its block cache)."""
    cache = gdal_cache_bytes()
    return rasterio.Env(GDAL_CACHEMAX=cache) if cache else rasterio.Env()


@contextmanager
def distributed_client(address: str) -> Iterator[bool]:
    """dask's scheduler set to a dask.distributed cluster at ``address`` (yields True)."""
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError(
            "compute.scheduler", "needs the 'distributed' package", "pip install 'ldnkit[distributed]'"
        ) from None
    try:
        client = Client(address, timeout="20s")
    except OSError as exc:
        raise ConfigError(
            "compute.scheduler",
            f"cannot reach the scheduler at {address} ({exc})",
            "check the address and that the cluster is running",
        ) from None
    try:
        with suppress(Exception):  # workers that cannot run it keep GDAL's default
            client.run(set_gdal_cache)
        with dask.config.set(scheduler=client):
            yield True
    finally:
        client.close()


@contextmanager
def use_scheduler(name: str, workers: int | None) -> Iterator[bool]:
    """Run dask work on threads, processes, or a dask.distributed cluster at an address; yields
    whether the work runs on a cluster."""
    if "://" in name:
        with distributed_client(name) as distributed:
            yield distributed
        return
    opts: dict[str, Any] = {"scheduler": name}
    if workers:
        opts["num_workers"] = workers
    if name != "processes":
        with dask.config.set(**opts):
            yield False
        return
    # One pool of worker processes for the whole run: dask would otherwise start (spawn) a new
    # pool, re-importing ldnkit in every process, for each of the run's dask computations.
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    from dask.multiprocessing import get_context, initialize_worker_process

    os.environ.setdefault("PYTHONHASHSEED", "6640")  # what dask sets: consistent hashing in workers
    init = partial(initialize_worker_process, user_initializer=set_gdal_cache)
    with ProcessPoolExecutor(workers or os.cpu_count(), mp_context=get_context(), initializer=init) as pool:
        with dask.config.set(**opts, pool=pool):
            yield False


__all__ = ["GDAL_CACHE_MB", "gdal_cache_bytes", "gdal_env", "set_gdal_cache", "use_scheduler"]
