"""Fetch the open-data sources a study area needs into the cache, or import them from a local folder.

``fetch_sources`` downloads each :data:`geoplan.sources.SOURCES` entry from its publisher,
verifies it and cuts national files down to the local authority plus a margin before moving the
result into ``<cache>/sources/`` (where :func:`geoplan.sources.find_local` looks). The order
matters: the LSOA-to-ward lookup and the LSOA boundaries come first because the local
authority's outline (the union of its LSOAs) decides what every other source is filtered to.

Nothing half-done ever reaches ``<cache>/sources/``: whole files stream into
``<cache>/sources/.partial/<name>.part`` (resumed with an HTTP ``Range`` request when a transfer
was interrupted), are checked (length, SHA-256 where the manifest knows it, then content), and
the filtered output is written through :func:`geoplan.fileio.atomic_path`.

The street network is the exception: :func:`fetch_network` has :mod:`geoplan.network` fetch it
from Overpass for the whole study area and cache the built network where catchments look for it.
"""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import io
import json
import os
import re
import shutil
import sys
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
import pyogrio
import requests
import urllib3
from shapely.geometry.base import BaseGeometry
from tqdm import tqdm

from geoplan import resources, settings
from geoplan.errors import DataSourceError, InputError
from geoplan.fileio import atomic_path, write_text
from geoplan.layers import DEFAULT_MARGIN_M, LA_CODE_PATTERN
from geoplan.sources import CODEPOINT_HEADER, SOURCES, Source, find_local, get_source, match_files

if TYPE_CHECKING:
    from geoplan.layers import AreaCatalogue

#: Bytes read from the network per write.
CHUNK_BYTES = 1 << 16
#: Records asked of an ArcGIS FeatureServer per page (the ONS portal's maximum).
ARCGIS_PAGE_SIZE = 2000
#: Sources in the order they must be fetched: the lookup and LSOA boundaries define the area window.
FETCH_ORDER = (
    "lsoa_ward_lookup",
    "lsoa21_boundaries",
    "wards",
    "lsoa21_pwc",
    "iod2025",
    "census2021_age",
    "codepoint_open",
    "osm_overpass",
)
#: Hidden folder of ``<cache>/sources`` holding downloads in progress (never matched by ``find_local``).
PARTIAL_DIR = ".partial"
#: Hidden record of where each cached file came from and which area it covers.
PROVENANCE_FILE = ".provenance.json"
#: Where the manifest says the street network goes (it is cached as a built network, not as a file).
NETWORK_CACHE_NOTE = "networks/ (walking network built by geoplan.network)"
USER_AGENT = "geoplan/0.1 (open-source early-years service planning; python-requests)"


def sources_dir() -> Path:
    """The cache folder holding fetched and imported source files."""
    return Path(settings.cache_dir) / "sources"


@dataclass(frozen=True)
class AreaWindow:
    """The local authority and the margin every national file is cut down to (EPSG:27700)."""

    la_code: str
    margin_m: float
    boundary: BaseGeometry
    lsoa_codes: frozenset[str]
    #: LSOAs whose polygon touches the boundary buffered by the margin (includes the LA's own).
    margin_lsoa_codes: frozenset[str]

    @cached_property
    def window(self) -> BaseGeometry:
        """The boundary buffered by the margin."""
        return self.boundary.buffer(self.margin_m)

    @property
    def envelope(self) -> tuple[float, float, float, float]:
        """Bounds (xmin, ymin, xmax, ymax) of :attr:`window` in EPSG:27700."""
        return tuple(float(v) for v in self.window.bounds)  # type: ignore[return-value]


@dataclass(frozen=True)
class FetchResult:
    """One source written into the cache."""

    key: str
    path: Path
    url: str
    rows: int
    downloaded_bytes: int = 0
    resumed: bool = False
    skipped: bool = False

    def to_dict(self) -> dict[str, object]:
        """JSON-safe form."""
        return {
            "key": self.key,
            "file": str(self.path),
            "url": self.url,
            "rows": self.rows,
            "downloaded_bytes": self.downloaded_bytes,
            "resumed": self.resumed,
            "skipped": self.skipped,
        }


@dataclass
class ImportReport:
    """What ``import_sources`` copied into the cache and what the folder lacked."""

    directory: Path
    imported: list[tuple[str, Path, Path]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """JSON-safe form."""
        return {
            "directory": str(self.directory),
            "imported": [{"key": key, "from": str(src), "to": str(dst)} for key, src, dst in self.imported],
            "missing": self.missing,
            "skipped": self.skipped,
        }


# --------------------------------------------------------------------------------------------
# Provenance record of the cache


def read_provenance() -> dict[str, dict[str, Any]]:
    """The record of cached sources (key -> file, url, area, checksums, time)."""
    path = sources_dir() / PROVENANCE_FILE
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        # A damaged record only costs a re-fetch; it never blocks reading the cache.
        return {}


def _record(key: str, entry: dict[str, Any]) -> None:
    record = read_provenance()
    record[key] = entry
    write_text(sources_dir() / PROVENANCE_FILE, json.dumps(record, indent=2, sort_keys=True) + "\n")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def _entry(
    source: Source, path: Path, *, url: str, rows: int, area: AreaWindow | None, **extra: Any
) -> dict[str, Any]:
    return {
        "file": path.name,
        "title": source.title,
        "publisher": source.publisher,
        "licence": source.licence,
        "vintage": source.vintage,
        "url": url,
        "rows": rows,
        "sha256": _sha256(path),
        "la_code": area.la_code if area else None,
        "margin_m": area.margin_m if area else None,
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **extra,
    }


# --------------------------------------------------------------------------------------------
# HTTP


def _session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


def announce(source: Source, url: str) -> None:
    """Say on stderr what is about to be downloaded, from whom, and under which licence."""
    print(f"Downloading {source.title} from {source.publisher}: {url} ({source.licence})", file=sys.stderr)


def _progress(total: int | None, initial: int, label: str) -> tqdm:
    enabled = settings.show_progress and sys.stderr.isatty()
    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, desc=label, disable=not enabled, leave=False)


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost error of requests' wrapping (ConnectionError -> MaxRetryError -> NameResolutionError)."""
    while True:
        reason = getattr(exc, "reason", None)
        inner = reason if isinstance(reason, BaseException) else None
        if inner is None and exc.args and isinstance(exc.args[0], BaseException):
            inner = exc.args[0]
        if inner is None:
            return exc
        exc = inner


def _unreachable(url: str, exc: Exception) -> DataSourceError:
    cause = _root_cause(exc)
    # urllib3 prefixes messages with the repr of its connection object, which tells a reader nothing.
    reason = re.sub(r"^<[^>]*>:\s*", "", str(cause).splitlines()[0] if str(cause) else "")
    msg = (
        f"cannot download {url} ({exc.__class__.__name__}: {reason[:160] or cause.__class__.__name__}); "
        "check the network, or use 'geoplan data import DIR' / GEOPLAN_DATA with a local copy of the files"
    )
    return DataSourceError(msg)


def _check_status(response: requests.Response, url: str) -> None:
    if response.status_code >= 400:
        msg = f"download of {url} failed: HTTP {response.status_code} {response.reason}"
        raise DataSourceError(msg)


def _total_from_content_range(value: str | None) -> tuple[int | None, int | None]:
    match = re.fullmatch(r"bytes (\d+)-\d+/(\d+|\*)", (value or "").strip())
    if match is None:
        return None, None
    total = None if match.group(2) == "*" else int(match.group(2))
    return int(match.group(1)), total


def download_file(url: str, part: Path, *, label: str, session: requests.Session | None = None) -> tuple[int, bool]:
    """Stream ``url`` into ``part``, resuming from its current length with an HTTP Range request.

    The validator (ETag or Last-Modified) of the first response is kept beside the partial file
    and sent as ``If-Range``, so a file that changed on the server is downloaded afresh.

    Returns
    -------
    tuple[int, bool]
        Bytes received by this call, and whether the transfer resumed an earlier one.

    Raises
    ------
    DataSourceError
        The server is unreachable, answers with an error, or the transfer stops before the
        announced length (the partial file is kept so the next run resumes it).
    """
    session = session or _session()
    part.parent.mkdir(parents=True, exist_ok=True)
    validator_path = part.with_name(part.name + ".validator")
    offset = part.stat().st_size if part.exists() else 0
    # Byte ranges and lengths must refer to the file itself, not to a compressed transfer of it.
    headers = {"Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if validator_path.is_file():
            headers["If-Range"] = validator_path.read_text(encoding="utf-8").strip()
    try:
        response = session.get(url, headers=headers, stream=True, timeout=settings.http_timeout_s)
    except requests.RequestException as exc:
        raise _unreachable(url, exc) from None
    with response:
        if response.status_code == 416 and offset:
            # The partial file is at least as long as the resource: it cannot be resumed, start again.
            part.unlink()
            validator_path.unlink(missing_ok=True)
            return download_file(url, part, label=label, session=session)
        _check_status(response, url)
        resumed = response.status_code == 206
        if resumed:
            start, total = _total_from_content_range(response.headers.get("Content-Range"))
            if start != offset:
                msg = f"download of {url} failed: asked to resume at byte {offset}, server sent from byte {start}"
                raise DataSourceError(msg)
        else:
            offset = 0
            length = response.headers.get("Content-Length")
            identity = response.headers.get("Content-Encoding", "identity") == "identity"
            total = int(length) if length is not None and length.isdigit() and identity else None
            validator = response.headers.get("ETag") or response.headers.get("Last-Modified")
            if validator:
                validator_path.write_text(validator, encoding="utf-8")
            else:
                validator_path.unlink(missing_ok=True)
        received = 0
        with part.open("ab" if resumed else "wb") as handle, _progress(total, offset, label) as bar:
            try:
                for chunk in _chunks(response):
                    handle.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                expected = f"{total:,}" if total is not None else "an unknown number of"
                msg = (
                    f"download of {url} was cut off after {offset + received:,} of {expected} bytes "
                    f"({exc.__class__.__name__}); run the command again to resume it"
                )
                raise DataSourceError(msg) from None
    size = part.stat().st_size
    if total is not None and size != total:
        msg = f"download of {url} is truncated: {size:,} of {total:,} bytes; run the command again to resume it"
        raise DataSourceError(msg)
    return received, resumed


def _chunks(response: requests.Response) -> Iterator[bytes]:
    """Body of ``response`` as it arrives, so an interrupted transfer keeps every byte received for resuming."""
    response.raw.decode_content = True
    while chunk := response.raw.read1(CHUNK_BYTES):
        yield chunk


def _discard(part: Path) -> None:
    part.unlink(missing_ok=True)
    part.with_name(part.name + ".validator").unlink(missing_ok=True)


def _verify_bytes(source: Source, part: Path, url: str) -> None:
    """Compare a complete download with the manifest's size and checksum; a mismatch discards it."""
    size = part.stat().st_size
    if source.size is not None and size != source.size:
        _discard(part)
        msg = f"download of {url} has {size:,} bytes, the published file has {source.size:,}; discarded"
        raise DataSourceError(msg)
    if source.sha256 is not None:
        digest = _sha256(part)
        if digest != source.sha256.lower():
            _discard(part)
            msg = (
                f"download of {url} is corrupt: SHA-256 {digest[:12]}… differs from the published "
                f"{source.sha256[:12]}…; discarded"
            )
            raise DataSourceError(msg)


# --------------------------------------------------------------------------------------------
# Content checks and filters


def _corrupt(url: str, part: Path, reason: str) -> DataSourceError:
    _discard(part)
    return DataSourceError(f"download of {url} is not a valid file ({reason}); discarded")


def _check_last_row(handle: io.TextIOBase, width: int, url: str, part: Path) -> None:
    """A file cut short mid-row leaves a last line with fewer fields than the header."""
    last = ""
    for line in handle:
        if line.strip():
            last = line
    if last and len(next(csv.reader([last]))) < width:
        raise _corrupt(url, part, "its last row has fewer fields than the header: truncated?")


def _read_csv_checked(
    source: Source, handle: Any, *, url: str, part: Path, names: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """Parse a CSV and check the source's columns; ``names`` is the header of a header-less file."""
    try:
        frame = pd.read_csv(handle, dtype=str, keep_default_na=False, header=None if names else "infer")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise _corrupt(url, part, f"CSV does not parse: {str(exc).splitlines()[0][:120]}") from None
    if names:
        if len(frame.columns) != len(names):
            raise _corrupt(url, part, f"{len(frame.columns)} columns where {len(names)} are published")
        frame.columns = list(names)
    for canonical in source.columns:
        try:
            source.column(canonical, frame.columns, path=url)
        except InputError as exc:
            raise _corrupt(url, part, str(exc).split(": ", 1)[-1]) from None
    if frame.empty:
        raise _corrupt(url, part, "no rows")
    return frame


def _write_csv(frame: pd.DataFrame, target: Path) -> None:
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, index=False)


def _filter_rows(source: Source, frame: pd.DataFrame, area: AreaWindow, url: str) -> pd.DataFrame:
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


def _fetch_csv(source: Source, part: Path, target: Path, area: AreaWindow, url: str) -> int:
    try:
        with part.open(encoding="utf-8-sig", newline="") as handle:
            header = handle.readline()
            _check_last_row(handle, len(next(csv.reader([header]))), url, part)
    except UnicodeDecodeError as exc:
        raise _corrupt(url, part, f"not UTF-8 text at byte {exc.start}") from None
    with part.open("rb") as handle:
        frame = _read_csv_checked(source, handle, url=url, part=part)
    kept = _filter_rows(source, frame, area, url)
    _write_csv(kept, target)
    return len(kept)


def _member_matches(name: str, pattern: str) -> bool:
    # Some re-packagings wrap the archive in a top-level folder (codepo_gb/Data/CSV/...).
    return fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(name, "*/" + pattern)


def _open_zip(part: Path, source: Source, url: str) -> tuple[zipfile.ZipFile, list[str]]:
    try:
        archive = zipfile.ZipFile(part)
    except zipfile.BadZipFile as exc:
        raise _corrupt(url, part, f"not a zip archive: {exc}") from None
    members = sorted(name for name in archive.namelist() if _member_matches(name, source.archive_member or ""))
    if not members:
        archive.close()
        raise _corrupt(url, part, f"the archive has no member {source.archive_member}")
    return archive, members


def _read_member(archive: zipfile.ZipFile, member: str, url: str, part: Path) -> bytes:
    try:
        return archive.read(member)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        raise _corrupt(url, part, f"member {member} is damaged: {exc}") from None


def _fetch_zipped_csv(source: Source, part: Path, target: Path, area: AreaWindow, url: str) -> int:
    archive, members = _open_zip(part, source, url)
    with archive:
        data = _read_member(archive, members[0], url, part)
    frame = _read_csv_checked(source, io.BytesIO(data), url=f"{url}!{members[0]}", part=part)
    kept = _filter_rows(source, frame, area, url)
    _write_csv(kept, target)
    return len(kept)


def _fetch_points_csv(source: Source, part: Path, target: Path, area: AreaWindow, url: str) -> int:
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
            frame = _read_csv_checked(source, io.BytesIO(data), url=f"{url}!{member}", part=part, names=names)
            east = pd.to_numeric(frame[source.column("easting", frame.columns, path=url)], errors="coerce")
            north = pd.to_numeric(frame[source.column("northing", frame.columns, path=url)], errors="coerce")
            if east.isna().any() or north.isna().any():
                raise _corrupt(url, part, f"member {member} has non-numeric coordinates")
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
    _write_csv(result, target)
    return len(result)


# --------------------------------------------------------------------------------------------
# ArcGIS FeatureServer queries


def _arcgis_pages(
    url: str, params: dict[str, str], *, label: str, session: requests.Session
) -> Iterator[dict[str, Any]]:
    """Yield the features of an ArcGIS query, page by page (``resultOffset``)."""
    offset = 0
    with _progress(None, 0, label) as bar:
        while True:
            page_params = {**params, "resultOffset": str(offset), "resultRecordCount": str(ARCGIS_PAGE_SIZE)}
            try:
                response = session.post(url, data=page_params, timeout=settings.http_timeout_s)
            except requests.RequestException as exc:
                raise _unreachable(url, exc) from None
            _check_status(response, url)
            try:
                payload = response.json()
            except ValueError:
                msg = f"{url} did not answer with JSON (got {response.headers.get('Content-Type', 'no content type')})"
                raise DataSourceError(msg) from None
            if "error" in payload:
                error = payload["error"]
                msg = f"{url} refused the query: {error.get('code', '')} {error.get('message', '')}".rstrip()
                raise DataSourceError(msg)
            features = payload.get("features")
            if not isinstance(features, list):
                msg = f"{url} answered without a 'features' list"
                raise DataSourceError(msg)
            yield from features
            bar.update(len(features))
            # f=json says it at the top level, f=geojson under "properties".
            exceeded = payload.get("exceededTransferLimit") or (payload.get("properties") or {}).get(
                "exceededTransferLimit"
            )
            if not features or not (exceeded or len(features) >= ARCGIS_PAGE_SIZE):
                return
            offset += len(features)


def _arcgis_table(source: Source, url: str, where: str, *, session: requests.Session) -> pd.DataFrame:
    params = {"where": where, "outFields": "*", "returnGeometry": "false", "f": "json"}
    rows = [feature.get("attributes", {}) for feature in _arcgis_pages(url, params, label=source.key, session=session)]
    frame = pd.DataFrame(rows).astype(str)
    if frame.empty:
        msg = f"{url} returned no rows for {where} ({source.title})"
        raise DataSourceError(msg)
    return frame


def _arcgis_features(
    source: Source, url: str, params: dict[str, str], *, session: requests.Session
) -> gpd.GeoDataFrame:
    query = {"outFields": "*", "outSR": "4326", "f": "geojson", **params}
    features = list(_arcgis_pages(url, query, label=source.key, session=session))
    if not features:
        msg = f"{url} returned no features for the study area ({source.title})"
        raise DataSourceError(msg)
    try:
        frame = gpd.GeoDataFrame.from_features(features, crs=settings.display_crs)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        msg = f"{url} answered with features that are not GeoJSON ({exc})"
        raise DataSourceError(msg) from None
    return frame.to_crs(settings.measure_crs)


def _check_columns(source: Source, columns: Iterable[str], url: str) -> None:
    for canonical in source.columns:
        try:
            source.column(canonical, columns, path=url)
        except InputError as exc:
            msg = f"{url} lacks a column: {str(exc).split(': ', 1)[-1]}"
            raise DataSourceError(msg) from None


def _envelope_params(area: AreaWindow) -> dict[str, str]:
    xmin, ymin, xmax, ymax = area.envelope
    return {
        "where": "1=1",
        "geometry": f"{xmin:.0f},{ymin:.0f},{xmax:.0f},{ymax:.0f}",
        "geometryType": "esriGeometryEnvelope",
        "inSR": settings.measure_crs.split(":")[1],
        "spatialRel": "esriSpatialRelIntersects",
    }


def _write_gpkg(frame: gpd.GeoDataFrame, target: Path, layer: str) -> None:
    with atomic_path(target) as tmp:
        frame.to_file(tmp, layer=layer, driver="GPKG")


# --------------------------------------------------------------------------------------------
# The area window


def area_window(la_code: str, margin_m: float, *, data_dir: str | os.PathLike[str] | None = None) -> AreaWindow:
    """Outline of a local authority (union of its LSOAs) from the lookup and LSOA boundaries found locally.

    Raises
    ------
    DataSourceError
        The lookup or the boundaries are not available, or hold no LSOA of ``la_code``.
    """
    lookup_source, lsoa_source = get_source("lsoa_ward_lookup"), get_source("lsoa21_boundaries")
    lookup_path = find_local(lookup_source.key, data_dir=data_dir)
    lookup = pd.read_csv(lookup_path, dtype=str, keep_default_na=False)
    la_column = lookup_source.column("la_code", lookup.columns, path=lookup_path)
    lsoa_column = lookup_source.column("lsoa_code", lookup.columns, path=lookup_path)
    codes = frozenset(lookup.loc[lookup[la_column] == la_code, lsoa_column])
    if not codes:
        msg = f"{lookup_path}: no LSOAs for local authority {la_code} in the LSOA-to-ward lookup"
        raise DataSourceError(msg)
    lsoa_path = find_local(lsoa_source.key, data_dir=data_dir)
    lsoas = gpd.read_file(lsoa_path).to_crs(settings.measure_crs)
    code_column = lsoa_source.column("lsoa_code", lsoas.columns, path=lsoa_path)
    own = lsoas[lsoas[code_column].isin(codes)]
    if own.empty:
        msg = f"{lsoa_path}: no LSOA boundaries for local authority {la_code}"
        raise DataSourceError(msg)
    boundary = own.geometry.union_all()
    near = lsoas[lsoas.intersects(boundary.buffer(margin_m))]
    return AreaWindow(
        la_code=la_code,
        margin_m=float(margin_m),
        boundary=boundary,
        lsoa_codes=codes,
        margin_lsoa_codes=frozenset(near[code_column]) | codes,
    )


def _boundary_from_service(source: Source, url: str, codes: frozenset[str], session: requests.Session) -> BaseGeometry:
    column = source.columns["lsoa_code"][0]
    quoted = ",".join(f"'{code}'" for code in sorted(codes))
    own = _arcgis_features(source, url, {"where": f"{column} IN ({quoted})"}, session=session)
    return own.geometry.union_all()


# --------------------------------------------------------------------------------------------
# Fetching


def _target(source: Source) -> Path:
    return sources_dir() / source.filename


def _covers(key: str, la_code: str, margin_m: float) -> bool:
    """Whether the cache already holds ``key`` fetched for this LA with at least this margin."""
    entry = read_provenance().get(key)
    if not entry or not (sources_dir() / entry.get("file", "")).is_file():
        return False
    if entry.get("la_code") is None:
        return True
    return entry["la_code"] == la_code and float(entry.get("margin_m") or 0) >= margin_m


def _fetch_file(source: Source, area: AreaWindow, session: requests.Session) -> FetchResult:
    url = source.url
    part = sources_dir() / PARTIAL_DIR / f"{source.filename}.part"
    announce(source, url)
    received, resumed = download_file(url, part, label=source.key, session=session)
    _verify_bytes(source, part, url)
    source_sha = _sha256(part)
    target = _target(source)
    try:
        if source.archive_member and source.area_filter == "buffer":
            rows = _fetch_points_csv(source, part, target, area, url)
        elif source.archive_member:
            rows = _fetch_zipped_csv(source, part, target, area, url)
        else:
            rows = _fetch_csv(source, part, target, area, url)
    except BaseException:
        # The download was complete: a later run must fetch it afresh, not try to resume it.
        _discard(part)
        raise
    _record(source.key, _entry(source, target, url=url, rows=rows, area=area, source_sha256=source_sha))
    _discard(part)
    return FetchResult(source.key, target, url, rows, downloaded_bytes=received, resumed=resumed)


def _fetch_arcgis(source: Source, area: AreaWindow, session: requests.Session) -> FetchResult:
    url = source.url
    announce(source, url)
    frame = _arcgis_features(source, url, _envelope_params(area), session=session)
    _check_columns(source, frame.columns, url)
    window = area.window
    kept = frame[frame.intersects(window)].reset_index(drop=True)
    if source.key == "lsoa21_boundaries":
        column = source.column("lsoa_code", kept.columns, path=url)
        missing = area.lsoa_codes - set(kept[column])
        if missing:
            msg = f"{url} lacks {len(missing)} LSOA(s) of {area.la_code} (e.g. {sorted(missing)[0]})"
            raise DataSourceError(msg)
    if kept.empty:
        msg = f"{url} has no features within {area.margin_m:g} m of {area.la_code} ({source.title})"
        raise DataSourceError(msg)
    target = _target(source)
    _write_gpkg(kept, target, layer=Path(source.filename).stem)
    _record(source.key, _entry(source, target, url=url, rows=len(kept), area=area))
    return FetchResult(source.key, target, url, len(kept))


def _fetch_lookup(source: Source, la_code: str, margin_m: float, session: requests.Session) -> FetchResult:
    url = source.url
    announce(source, url)
    column = source.columns["la_code"][0]
    frame = _arcgis_table(source, url, f"{column} = '{la_code}'", session=session)
    _check_columns(source, frame.columns, url)
    frame = frame[frame[source.column("la_code", frame.columns, path=url)] == la_code]
    if frame.empty:
        msg = f"{url} has no LSOAs for local authority {la_code}"
        raise DataSourceError(msg)
    target = _target(source)
    _write_csv(frame, target)
    entry = _entry(source, target, url=url, rows=len(frame), area=None)
    _record(source.key, {**entry, "la_code": la_code, "margin_m": margin_m})
    return FetchResult(source.key, target, url, len(frame))


def fetch_sources(
    la_code: str,
    *,
    margin_m: float = DEFAULT_MARGIN_M,
    keys: Iterable[str] | None = None,
    force: bool = False,
) -> list[FetchResult]:
    """Download the sources of one local authority into the cache, filtered to the LA plus ``margin_m``.

    Parameters
    ----------
    la_code
        ONS code of the local authority (e.g. ``E09000004``).
    margin_m
        Distance (metres) beyond the LA boundary that boundaries, centroids, postcodes and
        the street network also cover.
    keys
        Manifest keys to fetch (default: all tables and boundaries; the street network is
        :func:`fetch_network`'s). The lookup and LSOA boundaries are read from the cache or
        mirror when not fetched, to outline the LA.
    force
        Download again even when the cache already covers the LA and margin.

    Returns
    -------
    list[FetchResult]
        One per source, in fetch order (``skipped`` when the cache already covered it).

    Raises
    ------
    DataSourceError
        A download failed, was truncated or corrupt (the cache keeps its previous content).
    InputError
        ``la_code`` is not an ONS local authority code.
    """
    if not re.fullmatch(LA_CODE_PATTERN, la_code):
        msg = f"not a local authority code: {la_code!r} (expected e.g. E09000004)"
        raise InputError(msg, field="la_code")
    wanted = set(SOURCES) if keys is None else set(keys)
    for key in wanted:
        get_source(key)
    # The street network is built from Overpass by geoplan.network for a whole study area (fetch_network).
    wanted = {key for key in wanted if get_source(key).access != "overpass"}
    session = _session()
    results: list[FetchResult] = []
    area: AreaWindow | None = None
    for key in FETCH_ORDER:
        if key not in wanted:
            continue
        source = get_source(key)
        if not force and _covers(key, la_code, margin_m):
            rows = int(read_provenance()[key].get("rows") or 0)
            results.append(FetchResult(key, _target(source), source.url, rows, skipped=True))
            continue
        if key == "lsoa_ward_lookup":
            results.append(_fetch_lookup(source, la_code, margin_m, session))
            continue
        if area is None:
            area, fetched = _window_for_fetch(la_code, margin_m, session)
            if fetched is not None:
                results.append(fetched)
                if key == fetched.key:
                    continue
        if source.access == "arcgis":
            results.append(_fetch_arcgis(source, area, session))
        else:
            results.append(_fetch_file(source, area, session))
    return results


def _window_for_fetch(
    la_code: str, margin_m: float, session: requests.Session
) -> tuple[AreaWindow, FetchResult | None]:
    """The area window from local files, or from the boundary service when LSOA boundaries are not local yet.

    In the second case the LSOA boundaries are fetched on the way (and returned).
    """
    try:
        return area_window(la_code, margin_m), None
    except DataSourceError:
        lookup_path = find_local("lsoa_ward_lookup")
    lookup_source, lsoa_source = get_source("lsoa_ward_lookup"), get_source("lsoa21_boundaries")
    lookup = pd.read_csv(lookup_path, dtype=str, keep_default_na=False)
    codes = frozenset(
        lookup.loc[
            lookup[lookup_source.column("la_code", lookup.columns, path=lookup_path)] == la_code,
            lookup_source.column("lsoa_code", lookup.columns, path=lookup_path),
        ]
    )
    if not codes:
        msg = f"{lookup_path}: no LSOAs for local authority {la_code} in the LSOA-to-ward lookup"
        raise DataSourceError(msg)
    boundary = _boundary_from_service(lsoa_source, lsoa_source.url, codes, session)
    provisional = AreaWindow(la_code, float(margin_m), boundary, codes, codes)
    fetched = _fetch_arcgis(lsoa_source, provisional, session)
    return area_window(la_code, margin_m), fetched


# --------------------------------------------------------------------------------------------
# Study areas


def catalogue_for(la_code: str) -> Path | None:
    """The shipped layer catalogue (``layers/*.yaml``) of local authority ``la_code``, if there is one."""
    from geoplan.layers import load_catalogue

    for path in sorted((resources.layers_dir()).glob("*.yaml")):
        if load_catalogue(path).area.la_code == la_code:
            return path
    return None


def fetch_network(catalogue_path: str | os.PathLike[str]) -> FetchResult:
    """Download the walking network of a study area from Overpass into the network cache.

    The network is fetched and built by :mod:`geoplan.network` exactly as the catchment commands
    ask for it (same outline and margin), so they find it cached afterwards. A catalogue that names
    an OSM file needs no download.

    Raises
    ------
    NetworkUnavailableError
        Overpass cannot be reached or returns no usable network.
    """
    from geoplan.studyarea import load_study_area
    from geoplan.network import study_area_network

    source = get_source("osm_overpass")
    area = load_study_area(catalogue_path)
    cache = Path(settings.cache_dir) / "networks"
    if area.catalogue.network.osm_file is not None:
        return FetchResult(source.key, cache, str(area.catalogue.network.osm_file), 0, skipped=True)
    network = study_area_network(area, fetch=False)
    if network is not None:
        return FetchResult(source.key, cache, settings.overpass_url, len(network.edge_u), skipped=True)
    announce(source, settings.overpass_url)
    network = study_area_network(area, fetch=True)
    return FetchResult(source.key, cache, settings.overpass_url, len(network.edge_u))


def needed_sources(catalogue: AreaCatalogue) -> list[str]:
    """Manifest keys a layer catalogue reads, in fetch order (the street network when no OSM file is set)."""
    keys = {layer.source for layer in catalogue.layers.values()}
    if catalogue.network.osm_file is None:
        keys.add("osm_overpass")
    return [key for key in FETCH_ORDER if key in keys] + sorted(keys - set(FETCH_ORDER))


def ensure_sources(catalogue: AreaCatalogue, *, data_dir: str | os.PathLike[str] | None = None) -> dict[str, Path]:
    """Make sure every table and boundary source of ``catalogue`` is on disk, downloading what is missing.

    Files are looked for in ``data_dir``, the mirror (``settings.data_dir``) and the cache. When a
    mirror or ``data_dir`` is configured nothing is downloaded: a missing file there is an error,
    because a half-local, half-downloaded study area would mix vintages silently. The street
    network is left to :mod:`geoplan.network` (it falls back to crow-fly when Overpass is down).

    Returns
    -------
    dict[str, Path]
        Source key -> local file.
    """
    la_code, margin_m = catalogue.area.la_code, catalogue.area.margin_m
    keys = [key for key in needed_sources(catalogue) if get_source(key).access != "overpass"]
    local: dict[str, Path] = {}
    missing: list[str] = []
    cache = sources_dir().resolve()
    for key in keys:
        try:
            path = find_local(key, data_dir=data_dir)
        except DataSourceError:
            if data_dir is not None or settings.data_dir is not None:
                raise
            missing.append(key)
            continue
        if path.resolve().parent == cache and not _covers(key, la_code, margin_m) and key in read_provenance():
            missing.append(key)
            continue
        local[key] = path
    if missing:
        print(f"Fetching {len(missing)} open-data source(s) for {catalogue.area.name} ({la_code}) into {sources_dir()}",
              file=sys.stderr)  # fmt: skip
        for result in fetch_sources(la_code, margin_m=margin_m, keys=missing, force=True):
            local[result.key] = result.path
    return local


# --------------------------------------------------------------------------------------------
# Import


def _validate_local(source: Source, path: Path) -> None:
    """Check that a local file holds the source's columns (raises InputError naming the file)."""
    if source.format == "csv":
        with path.open(encoding="utf-8-sig", errors="replace") as handle:
            first = handle.readline()
        header = next(csv.reader([first]), [])
        if source.key == "codepoint_open" and header and header[0] != CODEPOINT_HEADER[0]:
            header = list(CODEPOINT_HEADER)
        if not header:
            msg = f"file is empty ({source.title})"
            raise InputError(msg, path=path)
        for canonical in source.columns:
            source.column(canonical, header, path=path)
    elif source.format == "gpkg":
        try:
            info = pyogrio.read_info(path)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            msg = f"not a readable GeoPackage ({str(exc).splitlines()[0]})"
            raise InputError(msg, path=path) from None
        if not info["crs"]:
            msg = "geometry has no CRS"
            raise InputError(msg, path=path, field="crs")
        for canonical in source.columns:
            source.column(canonical, list(info["fields"]), path=path)


def _count_rows(source: Source, path: Path) -> int:
    if source.format == "gpkg":
        return int(pyogrio.read_info(path)["features"])
    with path.open("rb") as handle:
        first = handle.readline()
        lines = 1 + sum(1 for line in handle if line.strip())
    has_header = first.lstrip(b'\xef\xbb\xbf"').startswith(CODEPOINT_HEADER[0].encode())
    headerless = source.key == "codepoint_open" and not has_header
    return lines - (0 if headerless else 1)


def import_sources(directory: str | os.PathLike[str]) -> ImportReport:
    """Copy every manifest source found in ``directory`` (by its file-name patterns) into the cache.

    Each file is validated (its columns) and copied atomically under the source's cache file
    name. Street networks are not imported: a study area names its OSM extract in its catalogue.

    Raises
    ------
    DataSourceError
        ``directory`` does not exist or holds none of the table and boundary sources; or some are
        missing (listed, after the ones found were imported).
    InputError
        A file found lacks a required column (the message names the file and field).
    """
    root = Path(directory)
    if (root / "raw").is_dir():
        root = root / "raw"
    if not root.is_dir():
        msg = f"import folder not found: {directory}"
        raise DataSourceError(msg)
    report = ImportReport(directory=root)
    found: dict[str, Path] = {}
    for key in FETCH_ORDER:
        source = get_source(key)
        if source.access == "overpass":
            report.skipped.append(key)
            continue
        matches = match_files(key, root)
        if matches:
            _validate_local(source, matches[0])
            found[key] = matches[0]
        else:
            report.missing.append(key)
    if not found:
        expected = "; ".join(f"{key} ({get_source(key).local_patterns[0]})" for key in report.missing)
        msg = f"{root} holds none of the data sources; expected files named like: {expected}"
        raise DataSourceError(msg)
    for key, path in found.items():
        source = get_source(key)
        target = _target(source)
        with atomic_path(target) as tmp:
            shutil.copyfile(path, tmp)
        _record(key, _entry(source, target, url=source.url, rows=_count_rows(source, target), area=None,
                            imported_from=str(path)))  # fmt: skip
        report.imported.append((key, path, target))
    return report


# --------------------------------------------------------------------------------------------
# The manifest as a table


def manifest_rows() -> list[dict[str, str]]:
    """One row per manifest source: key, title, publisher, URL, licence, vintage, cache file."""
    return [
        {
            "key": source.key,
            "title": source.title,
            "publisher": source.publisher,
            "url": source.url,
            "licence": source.licence,
            "attribution": source.attribution,
            "vintage": source.vintage,
            "access": source.access,
            "file": f"sources/{source.filename}" if source.filename else NETWORK_CACHE_NOTE,
            "sha256": source.sha256 or "",
        }
        for source in (get_source(key) for key in FETCH_ORDER)
    ]


def manifest_markdown() -> str:
    """The text of ``data/boundaries/MANIFEST.md``."""
    lines = [
        "# Sources of the download cache",
        "",
        "`geoplan data fetch` writes each source below into `sources/` of the cache folder (this folder by",
        "default; `GEOPLAN_CACHE` moves it), cut down to the local authority plus a margin, and records",
        "where every file came from in `sources/.provenance.json`. `geoplan data import DIR` copies the same",
        "files from a local folder instead. The street network is fetched from Overpass by `geoplan.network`",
        "and cached as a built network in `networks/`. Only this file is kept in git: the data stay with",
        "their publishers.",
        "",
        "| key | title | publisher | URL | licence | vintage | file written into the cache |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in manifest_rows():
        cells = [row["key"], row["title"], row["publisher"], row["url"], row["licence"], row["vintage"], row["file"]]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    lines += ["", "Attribution to print with any output:", ""]
    lines += [f"- **{row['key']}**: {row['attribution']}" for row in manifest_rows()]
    return "\n".join(lines) + "\n"

