"""``python -m ldnkit.registry.service REGISTRY [--host H] [--port P]``: run the service."""

from __future__ import annotations

import argparse

from ldnkit.registry.service.app import serve
from ldnkit.registry.service.settings import ServiceSettings


def main() -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(prog="python -m ldnkit.registry.service")
    parser.add_argument("registry")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--private-reads", action="store_true")
    parser.add_argument("--run", help="a run folder whose SO1 status and LPD layers the page shows")
    args = parser.parse_args()
    settings = ServiceSettings(
        host=args.host, port=args.port, public_reads=not args.private_reads, run_folder=args.run
    )
    serve(args.registry, settings)


main()
