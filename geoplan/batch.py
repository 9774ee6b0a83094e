"""Many study areas at once on a Dask cluster: ``geoplan run`` for each, one combined table.

Each area (a layer catalogue) is one task on a :mod:`dask.distributed` cluster: a
:class:`~distributed.LocalCluster` of worker processes on this machine by default, or an existing
scheduler given by address (its workers must see the same catalogues, data mirror and cache
folder). An area that fails is reported as a row with its one-line error; the others carry on.

Example
-------
>>> from geoplan.batch import run_batch
>>> result = run_batch(["layers/bexley.yaml", "layers/new-southgate.yaml"], out_dir="out")  # doctest: +SKIP
>>> result.table  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from geoplan import settings
from geoplan.bands import DEFAULT_BANDS, HEADLINE_MINUTES, check_bands
from geoplan.errors import GeoplanError, InputError

#: What a batch can do for each area: coverage is always measured (the table needs it).
STEPS: tuple[str, ...] = ("coverage", "gaps", "report")

#: Worker processes of the default local cluster (this machine has 2 cores), and the most allowed.
DEFAULT_WORKERS = 2
MAX_WORKERS = 64
#: Memory each local worker may use before Dask restarts it (a Bexley run peaks near 1.5 GB).
WORKER_MEMORY_LIMIT = "3GiB"
#: The venue set whose reach the table reports (as ``geoplan run``).
VENUE_SET = "centres"

OK = "ok"
FAILED = "failed"


@dataclass
class AreaResult:
    """One area's row of the batch table.

    Attributes
    ----------
    catalogue
        The layer catalogue (as given).
    area
        The study area's name (empty when it could not be loaded).
    status
        ``"ok"`` or ``"failed"``.
    error
        One-line reason of a failure (empty when ``ok``).
    method
        ``"network"`` or ``"crow-fly"``.
    children
        Children aged 0-4 in the area.
    shares
        Share of those children within each walking band (minutes → share) of a children's centre.
    top_gap
        The highest-need gap beyond the headline band, in words.
    outputs
        Files written (gaps GeoPackage and CSV, report, map, figure).
    seconds
        Wall time of the area's task.
    """

    catalogue: str
    area: str = ""
    status: str = OK
    error: str = ""
    method: str = ""
    children: float = 0.0
    shares: dict[float, float] = field(default_factory=dict)
    top_gap: str = ""
    outputs: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class BatchResult:
    """Every area's row, in the order the areas were given."""

    areas: list[AreaResult]
    bands: tuple[float, ...]

    @property
    def failed(self) -> list[AreaResult]:
        """The rows of areas that failed."""
        return [row for row in self.areas if row.status != OK]

    @property
    def table(self) -> pd.DataFrame:
        """One row per area: catalogue, area, status, method, children, share within each band, top gap, error."""
        records = []
        for row in self.areas:
            record = {"catalogue": row.catalogue, "area": row.area, "status": row.status, "method": row.method}
            record["children_0_4"] = row.children if row.status == OK else None
            for band in self.bands:
                record[f"within_{band:g}_min"] = row.shares.get(band) if row.status == OK else None
            record |= {"top_gap": row.top_gap, "error": row.error, "seconds": round(row.seconds, 1)}
            records.append(record)
        return pd.DataFrame.from_records(records)

    def to_dict(self) -> dict[str, object]:
        """Plain data (for ``--json``)."""
        return {
            "bands": list(self.bands),
            "areas": [asdict(row) | {"shares": {f"{b:g}": s for b, s in row.shares.items()}} for row in self.areas],
        }


def run_area(
    catalogue: str | os.PathLike[str],
    *,
    out_dir: str | os.PathLike[str],
    profile: str | float = "buggy",
    steps: Iterable[str] = STEPS,
    bands: Sequence[float] = DEFAULT_BANDS,
    worker_settings: dict[str, object] | None = None,
) -> AreaResult:
    """Run one area: fetch what is missing, measure coverage, write its gaps and committee report.

    Errors geoplan raises on purpose become a failed row; anything else propagates (and is
    reported by :func:`run_batch` as a failed row too).

    Parameters
    ----------
    catalogue
        The area's layer catalogue.
    out_dir
        Folder for ``<stem>-gaps.gpkg`` / ``.csv``, ``<stem>-report.html``, ``-map.html`` and ``-map.png``.
    profile
        Walking pace: ``walk``, ``buggy`` or a speed in km/h.
    steps
        Which of ``coverage``, ``gaps``, ``report`` to run (coverage is always measured).
    bands
        Walking bands (minutes) of the coverage columns.
    worker_settings
        Values of :mod:`geoplan.settings` to set first (the caller's, for worker processes).
    """
    for name, value in (worker_settings or {}).items():
        setattr(settings, name, value)
    started = time.perf_counter()
    result = AreaResult(catalogue=str(catalogue))
    try:
        _run_steps(
            Path(catalogue), result, out_dir=Path(out_dir), profile=profile, steps=set(steps), bands=tuple(bands)
        )
    except GeoplanError as exc:
        result.status, result.error = FAILED, _one_line(exc)
    result.seconds = time.perf_counter() - started
    return result


def _run_steps(
    catalogue: Path,
    result: AreaResult,
    *,
    out_dir: Path,
    profile: str | float,
    steps: set[str],
    bands: tuple[float, ...],
) -> None:
    from geoplan.coverage import find_gaps, measure_coverage
    from geoplan.fetch import ensure_sources
    from geoplan.layers import load_catalogue
    from geoplan.programme import parse_venue_set
    from geoplan.workspace import Workspace

    ensure_sources(load_catalogue(catalogue))
    workspace = Workspace(catalogue, profile=profile)
    area = workspace.area
    result.area = area.name
    venue_ids = workspace.baseline().venue_ids(kinds=parse_venue_set(VENUE_SET))
    travel_times = workspace.travel_times()
    result.method = travel_times.method
    coverage = measure_coverage(area, travel_times, venue_ids=venue_ids, bands=bands)
    result.children = float(coverage.overall["total"].iloc[0])
    result.shares = {float(band): float(row.share) for band, row in coverage.overall.iterrows()}
    stem = catalogue.stem
    if "gaps" in steps:
        gaps = find_gaps(area, travel_times, venue_ids=venue_ids, minutes=HEADLINE_MINUTES)
        gpkg = out_dir / f"{stem}-gaps.gpkg"
        gaps.write(gpkg, gpkg.with_suffix(".csv"))
        result.outputs += [str(gpkg), str(gpkg.with_suffix(".csv"))]
        if len(gaps.lsoas):
            top = gaps.lsoas.iloc[0]
            result.top_gap = (
                f"{top['lsoa_name']} ({top['ward_name']}), IDACI decile {top['idaci_decile']}: {top['reason']}"
            )
        else:
            result.top_gap = f"none beyond {HEADLINE_MINUTES:g} min"
    if "report" in steps:
        from geoplan.fileio import write_bytes, write_text
        from geoplan.outputs.committee import load_committee
        from geoplan.outputs.report import render_report, write_report

        rendered = render_report(load_committee(workspace, [None]))
        report, map_html, png = (
            out_dir / f"{stem}-report.html",
            out_dir / f"{stem}-map.html",
            out_dir / f"{stem}-map.png",
        )
        write_report(rendered.page, report)
        write_text(map_html, rendered.map_html)
        write_bytes(png, rendered.figure_png)
        result.outputs += [str(report), str(map_html), str(png)]


def run_batch(
    catalogues: Sequence[str | os.PathLike[str]],
    *,
    out_dir: str | os.PathLike[str],
    profile: str | float = "buggy",
    steps: Iterable[str] = STEPS,
    bands: Iterable[float] = DEFAULT_BANDS,
    scheduler: str | None = None,
    n_workers: int = DEFAULT_WORKERS,
    on_done: Callable[[AreaResult, int, int], None] | None = None,
) -> BatchResult:
    """Run every area as one task on a Dask cluster and gather one row per area.

    Parameters
    ----------
    catalogues
        Layer catalogues, one per area (at least one; each given once).
    out_dir
        Folder for every area's outputs (created if missing).
    profile, steps, bands
        As for :func:`run_area`.
    scheduler
        Address of a running Dask scheduler (``tcp://host:8786``); default: a local cluster of
        ``n_workers`` processes, shut down at the end.
    n_workers
        Worker processes of the local cluster (1 to ``MAX_WORKERS``; one thread each).
    on_done
        Called as each area finishes with its row, how many are done and how many in all.
    """
    from distributed import Client, LocalCluster, as_completed

    paths = [str(path) for path in catalogues]
    if not paths:
        msg = "give at least one area catalogue"
        raise InputError(msg, field="--area")
    duplicate = next((path for index, path in enumerate(paths) if path in paths[:index]), None)
    if duplicate is not None:
        msg = f"area {duplicate} is given twice"
        raise InputError(msg, field="--area", path=duplicate)
    steps = tuple(steps)
    unknown = next((step for step in steps if step not in STEPS), None)
    if unknown is not None:
        msg = f"unknown step {unknown!r}; choose from {', '.join(STEPS)}"
        raise InputError(msg, field="--steps")
    bands = check_bands(bands)
    if not 1 <= n_workers <= MAX_WORKERS:
        msg = f"workers must be between 1 and {MAX_WORKERS}, got {n_workers}"
        raise InputError(msg, field="--workers")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    worker_settings = {
        "data_dir": settings.data_dir,
        "cache_dir": settings.cache_dir,
        "allow_crowfly_fallback": settings.allow_crowfly_fallback,
        "show_progress": False,
    }
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=WORKER_MEMORY_LIMIT,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    try:
        client = _connect(Client, cluster if cluster is not None else scheduler)
        with client:
            futures = {
                client.submit(
                    run_area,
                    path,
                    out_dir=str(out.resolve()),
                    profile=profile,
                    steps=steps,
                    bands=bands,
                    worker_settings=worker_settings,
                    key=f"geoplan-area-{index}-{Path(path).stem}",
                    pure=False,
                ): index
                for index, path in enumerate(paths)
            }
            rows: list[AreaResult | None] = [None] * len(paths)
            for done, future in enumerate(as_completed(futures), start=1):
                index = futures[future]
                row = future.result() if future.status == "finished" else _failed_row(paths[index], future)
                rows[index] = row
                if on_done is not None:
                    on_done(row, done, len(paths))
    finally:
        if cluster is not None:
            cluster.close()
    return BatchResult(areas=[row for row in rows if row is not None], bands=bands)


def _failed_row(catalogue: str, future: object) -> AreaResult:
    """The row of a task that raised, or whose worker died, with the reason in one line."""
    try:
        reason = _one_line(future.exception())
    except Exception as exc:  # a cancelled future raises its cancellation here
        reason = _one_line(exc)
    return AreaResult(catalogue=catalogue, status=FAILED, error=reason)


def _connect(client_class: type, address: object) -> object:
    try:
        return client_class(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        msg = f"cannot reach the Dask scheduler at {address}: {_one_line(exc)}"
        raise InputError(msg, field="--scheduler") from None


def _one_line(exc: BaseException | None) -> str:
    text = " ".join(str(exc).split()) if exc is not None else "unknown error"
    return text if isinstance(exc, GeoplanError) else f"{type(exc).__name__}: {text}"
