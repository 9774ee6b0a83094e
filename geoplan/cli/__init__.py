"""The ``geoplan`` command line.

Each command is a thin layer over a library function: it parses options, calls the engine and
prints or writes the result. Errors raised on purpose (:class:`geoplan.errors.GeoplanError`) are
printed as one line on stderr with exit status 2, never as a traceback.
"""

from __future__ import annotations

import sys

from geoplan.cli import analysis, area, data, optimise, outputs, outreach, reach, run, scenario, serve  # noqa: F401 - registers the commands
from geoplan.cli.common import app
from geoplan.errors import GeoplanError

__all__ = ["app", "main"]


def main() -> None:
    """Run the CLI, turning geoplan's own errors into one-line messages."""
    try:
        app()
    except GeoplanError as exc:
        print(f"geoplan: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
