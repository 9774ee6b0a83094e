"""Content checks of downloaded files, and the filters that cut national files down to an area window.

A file that does not parse, lacks a column, is cut short mid-row or has no rows for the local
authority is discarded with a one-line error; what passes is filtered and written atomically.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import zipfile
import zlib
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geoplan.errors import DataSourceError, InputError
from geoplan.fetch.http import discard
from geoplan.fetch.window import AreaWindow
from geoplan.fileio import atomic_path
from geoplan.sources import CODEPOINT_HEADER, Source


def corrupt(url: str, part: Path, reason: str) -> DataSourceError:
    discard(part)
    return DataSourceError(f"download of {url} is not a valid file ({reason}); discarded")


def _check_last_row(handle: io.TextIOBase, width: int, url: str, part: Path) -> None:
    """A file cut short mid-row leaves a last line with fewer fields than the header."""
    last = ""
    for line in handle:
        if line.strip():
            last = line
    if last and len(next(csv.reader([last]))) < width:
        raise corrupt(url, part, "its last row has fewer fields than the header: truncated?")


def read_csv_checked(
    source: Source, handle: Any, *, url: str, part: Path, names: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """Parse a CSV and check the source's columns; ``names`` is the header of a header-less file."""
    try:
        frame = pd.read_csv(handle, dtype=str, keep_default_na=False, header=None if names else "infer")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise corrupt(url, part, f"CSV does not parse: {str(exc).splitlines()[0][:120]}") from None
    if names:
        if len(frame.columns) != len(names):
            raise corrupt(url, part, f"{len(frame.columns)} columns where {len(names)} are published")
        frame.columns = list(names)
    for canonical in source.columns:
        try:
            source.column(canonical, frame.columns, path=url)
        except InputError as exc:
            raise corrupt(url, part, str(exc).split(": ", 1)[-1]) from None
    if frame.empty:
        raise corrupt(url, part, "no rows")
    return frame


def write_csv(frame: pd.DataFrame, target: Path) -> None:
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, index=False)


def filter_rows(source: Source, frame: pd.DataFrame, area: AreaWindow, url: str) -> pd.DataFrame:
    if source.area_filter == "la_code":
        kept = frame[frame[source.column("la_code", frame.columns, path=url)] == area.la_code]
    elif source.area_filter == "lsoa":
        kept = frame[frame[source.column("lsoa_code", frame.columns, path=url)].isin(area.margin_lsoa_codes)]
    else:
        return frame
    lsoa_column = source.column("lsoa_code", frame.columns, path=url) if "lsoa_code" in source.columns else None
    if kept.empty or (lsoa_column and not kept[lsoa_column].isin(area.lsoa_codes).any()):
        msg = f"{url} has no rows for local authority {area.la_code} ({source.title})"
        raise DataSourceError(msg)
    return kept


def filter_csv(source: Source, part: Path, target: Path, area: AreaWindow, url: str) -> int:
    try:
        with part.open(encoding="utf-8-sig", newline="") as handle:
            header = handle.readline()
            _check_last_row(handle, len(next(csv.reader([header]))), url, part)
    except UnicodeDecodeError as exc:
        raise corrupt(url, part, f"not UTF-8 text at byte {exc.start}") from None
    with part.open("rb") as handle:
        frame = read_csv_checked(source, handle, url=url, part=part)
    kept = filter_rows(source, frame, area, url)
    write_csv(kept, target)
    return len(kept)


def _member_matches(name: str, pattern: str) -> bool:
    # Some re-packagings wrap the archive in a top-level folder (codepo_gb/Data/CSV/...).
    return fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(name, "*/" + pattern)


def _open_zip(part: Path, source: Source, url: str) -> tuple[zipfile.ZipFile, list[str]]:
    try:
        archive = zipfile.ZipFile(part)
    except zipfile.BadZipFile as exc:
        raise corrupt(url, part, f"not a zip archive: {exc}") from None
    members = sorted(name for name in archive.namelist() if _member_matches(name, source.archive_member or ""))
    if not members:
        archive.close()
        raise corrupt(url, part, f"the archive has no member {source.archive_member}")
    return archive, members


def _read_member(archive: zipfile.ZipFile, member: str, url: str, part: Path) -> bytes:
    try:
        return archive.read(member)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        raise corrupt(url, part, f"member {member} is damaged: {exc}") from None


def filter_zipped_csv(source: Source, part: Path, target: Path, area: AreaWindow, url: str) -> int:
    archive, members = _open_zip(part, source, url)
    with archive:
        data = _read_member(archive, members[0], url, part)
    frame = read_csv_checked(source, io.BytesIO(data), url=f"{url}!{members[0]}", part=part)
    kept = filter_rows(source, frame, area, url)
    write_csv(kept, target)
    return len(kept)


def filter_points_csv(source: Source, part: Path, target: Path, area: AreaWindow, url: str) -> int:
    """Keep the points inside the area window (or assigned to the LA) from every CSV of the archive.

    Code-Point Open ships one CSV per postcode area, without a header: the result is one CSV
    with the official header (:data:`CODEPOINT_HEADER`).
    """
    window = area.window
    xmin, ymin, xmax, ymax = area.envelope
    archive, members = _open_zip(part, source, url)
    kept: list[pd.DataFrame] = []
    with archive:
        for member in members:
            data = _read_member(archive, member, url, part)
            has_header = data.split(b",", 1)[0].strip(b'"\xef\xbb\xbf') == CODEPOINT_HEADER[0].encode()
            names = None if has_header else CODEPOINT_HEADER
            frame = read_csv_checked(source, io.BytesIO(data), url=f"{url}!{member}", part=part, names=names)
            east = pd.to_numeric(frame[source.column("easting", frame.columns, path=url)], errors="coerce")
            north = pd.to_numeric(frame[source.column("northing", frame.columns, path=url)], errors="coerce")
            if east.isna().any() or north.isna().any():
                raise corrupt(url, part, f"member {member} has non-numeric coordinates")
            near = (east >= xmin) & (east <= xmax) & (north >= ymin) & (north <= ymax)
            in_la = frame[source.column("la_code", frame.columns, path=url)] == area.la_code
            candidates = frame[near | in_la]
            if candidates.empty:
                continue
            points = gpd.points_from_xy(east[candidates.index], north[candidates.index])
            inside = gpd.GeoSeries(points, index=candidates.index).within(window)
            kept.append(candidates[inside | in_la[candidates.index]])
    if not kept:
        msg = f"{url} has no postcodes within {area.margin_m:g} m of local authority {area.la_code}"
        raise DataSourceError(msg)
    result = pd.concat(kept, ignore_index=True)
    write_csv(result, target)
    return len(result)
