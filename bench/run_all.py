"""Regenerate every README performance figure: runs each bench in its own process, in turn.

Run: ``GEOPLAN_DATA=../shared/data .venv/bin/python bench/run_all.py [--out FILE] [--skip NAME ...]``

Each bench prints Markdown tables (with its command, versions and machine); this script collects
them in one document (stdout, or ``--out``, written outside the checkout by default) so the README
can be updated from one run on a quiet machine. Benches run one after another so they never
compete for the two cores.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: Every bench, in the order of the data flow (cheap ones first).
BENCHES = (
    "bench_coverage.py",
    "bench_crowfly.py",
    "bench_traveltime.py",
    "bench_optimise.py",
    "bench_outreach.py",
    "bench_maps.py",
    "bench_planner.py",
    "bench_scale.py",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="Markdown file to write (default: print only)")
    parser.add_argument("--skip", nargs="*", default=[], help="bench file names to leave out (e.g. bench_scale.py)")
    args = parser.parse_args()
    sections, failures = [], []
    for name in BENCHES:
        script = HERE / name
        if name in args.skip or not script.is_file():
            continue
        started = time.perf_counter()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=False)
        took = time.perf_counter() - started
        if done.returncode != 0:
            failures.append(name)
            sections.append(f"## {name}: FAILED after {took:.0f} s\n\n```\n{done.stderr.strip()[-2000:]}\n```\n")
            continue
        sections.append(f"## {name} ({took:.0f} s)\n\n{done.stdout.strip()}\n")
    document = "\n".join(sections)
    if args.out is not None:
        args.out.write_text(document, encoding="utf-8")
    print(document)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
