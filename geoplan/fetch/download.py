"""Fetch the open-data sources a study area needs from their publishers into ``<cache>/sources``.

The order matters: the LSOA-to-ward lookup and the LSOA boundaries come first because the local
authority's outline (the union of its LSOAs) decides what every other source is filtered to.
The street network is the exception: :meth:`geoplan.workspace.Workspace.download_network` fetches
it from Overpass for the whole study area and caches the built network where catchments look for it.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import requests

from geoplan import resources, settings
from geoplan.cache import file_sha256
from geoplan.errors import DataSourceError, InputError
from geoplan.fetch.arcgis import (
    arcgis_features,
    arcgis_table,
    boundary_from_service,
    check_columns,
    envelope_params,
    write_gpkg,
)
from geoplan.fetch.checks import filter_csv, filter_points_csv, filter_zipped_csv, write_csv
from geoplan.fetch.http import announce, discard, download_file, new_session, verify_bytes
from geoplan.fetch.manifest import FETCH_ORDER
from geoplan.fetch.provenance import (
    PARTIAL_DIR,
    FetchResult,
    covers,
    describe,
    read_provenance,
    record,
    sources_dir,
    target_path,
)
from geoplan.fetch.window import AreaWindow, area_window
from geoplan.layers import DEFAULT_MARGIN_M, LA_CODE_PATTERN
from geoplan.sources import CACHE, SOURCES, Source, find_local, get_source, origin_of
from geoplan.text import plural

if TYPE_CHECKING:
    from geoplan.layers import AreaCatalogue


def _fetch_file(source: Source, area: AreaWindow, session: requests.Session) -> FetchResult:
    url = source.url
    part = sources_dir() / PARTIAL_DIR / f"{source.filename}.part"
    announce(source, url)
    received, resumed = download_file(url, part, label=source.key, session=session)
    verify_bytes(source, part, url)
    source_sha = file_sha256(part)
    target = target_path(source)
    try:
        if source.archive_member and source.area_filter == "buffer":
            rows = filter_points_csv(source, part, target, area, url)
        elif source.archive_member:
            rows = filter_zipped_csv(source, part, target, area, url)
        else:
            rows = filter_csv(source, part, target, area, url)
    except BaseException:
        # The download was complete: a later run must fetch it afresh, not try to resume it.
        discard(part)
        raise
    record(source.key, describe(source, target, url=url, rows=rows, area=area, source_sha256=source_sha))
    discard(part)
    return FetchResult(source.key, target, url, rows, downloaded_bytes=received, resumed=resumed)


def _fetch_arcgis(source: Source, area: AreaWindow, session: requests.Session) -> FetchResult:
    url = source.url
    announce(source, url)
    frame = arcgis_features(source, url, envelope_params(area), session=session)
    check_columns(source, frame.columns, url)
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
    target = target_path(source)
    write_gpkg(kept, target, layer=Path(source.filename).stem)
    record(source.key, describe(source, target, url=url, rows=len(kept), area=area))
    return FetchResult(source.key, target, url, len(kept))


def _fetch_lookup(source: Source, la_code: str, margin_m: float, session: requests.Session) -> FetchResult:
    url = source.url
    announce(source, url)
    column = source.columns["la_code"][0]
    frame = arcgis_table(source, url, f"{column} = '{la_code}'", session=session)
    check_columns(source, frame.columns, url)
    frame = frame[frame[source.column("la_code", frame.columns, path=url)] == la_code]
    if frame.empty:
        msg = f"{url} has no LSOAs for local authority {la_code}"
        raise DataSourceError(msg)
    target = target_path(source)
    write_csv(frame, target)
    entry = describe(source, target, url=url, rows=len(frame), area=None)
    record(source.key, {**entry, "la_code": la_code, "margin_m": margin_m})
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
        :meth:`~geoplan.workspace.Workspace.download_network`'s). The lookup and LSOA boundaries are read from the cache or
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
    # The street network is built from Overpass by geoplan.network for a whole study area (Workspace.download_network).
    wanted = {key for key in wanted if get_source(key).access != "overpass"}
    session = new_session()
    results: list[FetchResult] = []
    area: AreaWindow | None = None
    for key in FETCH_ORDER:
        if key not in wanted:
            continue
        source = get_source(key)
        if not force and covers(key, la_code, margin_m):
            rows = int(read_provenance()[key].get("rows") or 0)
            results.append(FetchResult(key, target_path(source), source.url, rows, skipped=True))
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
    boundary = boundary_from_service(lsoa_source, lsoa_source.url, codes, session)
    provisional = AreaWindow(la_code, float(margin_m), boundary, codes, codes)
    fetched = _fetch_arcgis(lsoa_source, provisional, session)
    return area_window(la_code, margin_m), fetched


def catalogue_for(la_code: str) -> Path | None:
    """The shipped layer catalogue (``layers/*.yaml``) of local authority ``la_code``, if there is one."""
    from geoplan.layers import load_catalogue

    for path in sorted((resources.layers_dir()).glob("*.yaml")):
        if load_catalogue(path).area.la_code == la_code:
            return path
    return None


def needed_sources(catalogue: AreaCatalogue) -> list[str]:
    """Manifest keys a layer catalogue reads, in fetch order (the street network when no OSM file is set)."""
    keys = {layer.source for layer in catalogue.layers.values()}
    if catalogue.network.osm_file is None:
        keys.add("osm_overpass")
    return [key for key in FETCH_ORDER if key in keys] + sorted(keys - set(FETCH_ORDER))


def ensure_sources(catalogue: AreaCatalogue, *, data_dir: str | os.PathLike[str] | None = None) -> dict[str, Path]:
    """Make sure every table and boundary source of ``catalogue`` is on disk, downloading what is missing.

    Files are looked for as :func:`geoplan.sources.find_local` does: ``data_dir``, the mirror
    (``settings.data_dir``), the cache, then the data embedded for the catalogue's local authority.
    When a mirror or ``data_dir`` is configured nothing is downloaded: a missing file there is an
    error, because a half-local, half-downloaded study area would mix vintages silently. The street
    network is left to :mod:`geoplan.network` (it falls back to crow-fly when Overpass is down).

    Returns
    -------
    dict[str, Path]
        Source key -> local file (:func:`geoplan.sources.origin_of` says where it was found).
    """
    la_code, margin_m = catalogue.area.la_code, catalogue.area.margin_m
    keys = [key for key in needed_sources(catalogue) if get_source(key).access != "overpass"]
    local: dict[str, Path] = {}
    missing: list[str] = []
    for key in keys:
        try:
            path = find_local(key, data_dir=data_dir, la_code=la_code)
        except DataSourceError:
            if data_dir is not None or settings.data_dir is not None:
                raise
            missing.append(key)
            continue
        if origin_of(path) == CACHE and not covers(key, la_code, margin_m) and key in read_provenance():
            missing.append(key)
            continue
        local[key] = path
    if missing:
        where = f"{catalogue.area.name} ({la_code}) into {sources_dir()}"
        print(f"Fetching {plural(len(missing), 'open-data source')} for {where}", file=sys.stderr)
        for result in fetch_sources(la_code, margin_m=margin_m, keys=missing, force=True):
            local[result.key] = result.path
    return local
