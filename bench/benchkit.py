"""What every bench shares: a temporary cache, timing alike on both sides, and a table the README copies.

Each bench script calls :func:`setup` first (caches go to a fresh temporary folder, never the
checkout), times geoplan and its peers with the same :func:`best_of`, and prints its results with
:func:`print_table`, headed by :func:`environment` (command, versions, machine) so a reader can
re-run exactly what produced a README figure.
"""

from __future__ import annotations

import atexit
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

#: Repeats per timed call; the best is reported (the least disturbed by the rest of the machine).
REPEATS = 5


def setup() -> str:
    """Point geoplan's cache at a new temporary folder (removed at exit); returns its path."""
    folder = tempfile.mkdtemp(prefix="geoplan-bench-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.environ["GEOPLAN_CACHE"] = folder
    from geoplan import settings

    settings.cache_dir = Path(folder)
    return folder


def best_of(function: Callable[[], T], repeats: int = REPEATS) -> tuple[float, T]:
    """The fastest of ``repeats`` runs (seconds) and the last result."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return min(times), result  # type: ignore[return-value]


def environment(packages: Sequence[str] = ()) -> str:
    """One line naming the command, the machine and the versions of geoplan and ``packages``."""
    versions = []
    for name in ("geoplan", "numpy", "scipy", *packages):
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    command = " ".join([os.path.relpath(sys.argv[0]), *sys.argv[1:]])
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    return f"`{command}` — {machine}; " + ", ".join(versions)


def print_table(
    title: str, header: Sequence[str], rows: Sequence[Sequence[object]], *, packages: Sequence[str] = ()
) -> None:
    """Print a Markdown table with its title and environment line, ready to paste into the README."""
    print(f"\n### {title}\n")
    print(environment(packages))
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
    sys.stdout.flush()


def seconds(value: float) -> str:
    """A duration as the README shows it."""
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def ratio(peer: float, ours: float) -> str:
    """How many times longer the peer took (``0.5×`` means geoplan took twice as long)."""
    return f"{peer / ours:.1f}×" if ours > 0 else "–"
