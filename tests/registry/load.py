"""Concurrent writers and readers against a running registry service, over HTTP.

Used by the load test (``test_registry_load.py``: 20 writers x 10, nothing lost) and by
``benchmarks/registry.py`` (20 writers x 50, 200 readers, requests/s and p95 latency), which loads
this file by path. Each writer is one asyncio task with its own connection, adding its activities
one after the other, all writers at once; readers likewise. A transport error counts as a failure.
Needs only httpx and the standard library (no pytest, no ldnkit).
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

ITEMS = "/collections/activities/items"


@dataclass
class LoadResult:
    """Ids written (writers), latencies of every request (s), wall-clock time (s), failures."""

    ids: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        """Requests per second over the whole run."""
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        """The ``q`` percentile (0-100) of the latencies, in seconds (nearest rank)."""
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)] if ordered else math.nan


def load_feature(writer: int, index: int) -> dict:
    """Activity ``index`` of ``writer``: a 0.01-degree square of its own, named uniquely in its site."""
    x = 10.0 + (index % 25) * 0.012
    y = 10.0 + writer * 0.05 + (index // 25) * 0.012
    ring = [[x, y], [x + 0.01, y], [x + 0.01, y + 0.01], [x, y + 0.01], [x, y]]
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {
            "name": f"load {writer}-{index}",
            "site": f"writer {writer}",
            "level": "reverse",
            "practices": ["S1"],
            "start_date": "2024-01-01",
        },
    }


async def _timed(result: LoadResult, client: httpx.AsyncClient, method: str, url: str, **kw) -> Any:
    """One request; its latency recorded; a transport error recorded as a failure (None)."""
    start = time.perf_counter()
    try:
        response = await client.request(method, url, **kw)
    except httpx.TransportError as error:
        response = None
        result.failures.append(f"{method} {url}: {type(error).__name__}")
    result.latencies.append(time.perf_counter() - start)
    return response


async def _write(base: str, token: str, writers: int, per_writer: int) -> LoadResult:
    result = LoadResult()
    headers = {"Authorization": f"Bearer {token}"}

    async def writer(w: int) -> None:  # its own client: one connection, used back to back
        async with httpx.AsyncClient(base_url=base, timeout=300, headers=headers) as client:
            for i in range(per_writer):
                response = await _timed(result, client, "POST", ITEMS, json=load_feature(w, i))
                if response is not None and response.status_code == 201:
                    result.ids.append(response.json()["id"])
                elif response is not None:
                    result.failures.append(f"writer {w} #{i}: {response.status_code} {response.text[:200]}")

    start = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(writers)))
    result.seconds = time.perf_counter() - start
    return result


async def _read(base: str, readers: int, per_reader: int, ids: list[str]) -> LoadResult:
    result = LoadResult()

    async def reader(r: int) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=300) as client:
            for k in range(per_reader):
                if k % 2 == 0:  # a page of 50 features
                    url = f"{ITEMS}?limit=50&offset={((r + k) * 50) % max(len(ids), 1)}"
                else:  # one feature
                    url = f"{ITEMS}/{ids[(r * per_reader + k) % len(ids)]}"
                response = await _timed(result, client, "GET", url)
                if response is not None and response.status_code != 200:
                    result.failures.append(f"reader {r} {url}: {response.status_code}")

    start = time.perf_counter()
    await asyncio.gather(*(reader(r) for r in range(readers)))
    result.seconds = time.perf_counter() - start
    return result


def run_writers(base: str, token: str, writers: int, per_writer: int) -> LoadResult:
    """``writers`` concurrent writers each POSTing ``per_writer`` activities (an editor's token)."""
    return asyncio.run(_write(base, token, writers, per_writer))


def run_readers(base: str, readers: int, per_reader: int, ids: list[str]) -> LoadResult:
    """``readers`` concurrent readers each making ``per_reader`` GETs (pages and single features)."""
    return asyncio.run(_read(base, readers, per_reader, ids))
