"""Settings of the registry service, with safe defaults."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceSettings:
    """How the service runs.

    host: 127.0.0.1 (this machine only) unless told otherwise; public_reads: whether reading needs no
    token; max_body_bytes: largest request body (413 beyond); default_limit / max_limit: page sizes
    of ``/items``; cors_origins: origins allowed by CORS (none by default: no CORS headers at all);
    run_folder: a run whose SO1 status and LPD layers the web page can show under the activities.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    public_reads: bool = True
    max_body_bytes: int = 2_000_000
    default_limit: int = 100
    max_limit: int = 1000
    cors_origins: tuple[str, ...] = ()
    run_folder: str | None = None
