"""ArcGIS FeatureServer queries (the ONS Open Geography Portal): paged, checked, in EPSG:27700."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import requests
from shapely.geometry.base import BaseGeometry

from geoplan import settings
from geoplan.errors import DataSourceError, InputError
from geoplan.fetch.http import check_status, progress_bar, unreachable
from geoplan.fetch.window import AreaWindow
from geoplan.fileio import atomic_path
from geoplan.sources import Source

#: Records asked of an ArcGIS FeatureServer per page (the ONS portal's maximum).
ARCGIS_PAGE_SIZE = 2000


def _arcgis_pages(
    url: str, params: dict[str, str], *, label: str, session: requests.Session
) -> Iterator[dict[str, Any]]:
    """Yield the features of an ArcGIS query, page by page (``resultOffset``)."""
    offset = 0
    with progress_bar(None, 0, label) as bar:
        while True:
            page_params = {**params, "resultOffset": str(offset), "resultRecordCount": str(ARCGIS_PAGE_SIZE)}
            try:
                response = session.post(url, data=page_params, timeout=settings.http_timeout_s)
            except requests.RequestException as exc:
                raise unreachable(url, exc) from None
            check_status(response, url)
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


def arcgis_table(source: Source, url: str, where: str, *, session: requests.Session) -> pd.DataFrame:
    params = {"where": where, "outFields": "*", "returnGeometry": "false", "f": "json"}
    rows = [feature.get("attributes", {}) for feature in _arcgis_pages(url, params, label=source.key, session=session)]
    frame = pd.DataFrame(rows).astype(str)
    if frame.empty:
        msg = f"{url} returned no rows for {where} ({source.title})"
        raise DataSourceError(msg)
    return frame


def arcgis_features(source: Source, url: str, params: dict[str, str], *, session: requests.Session) -> gpd.GeoDataFrame:
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


def check_columns(source: Source, columns: Iterable[str], url: str) -> None:
    for canonical in source.columns:
        try:
            source.column(canonical, columns, path=url)
        except InputError as exc:
            msg = f"{url} lacks a column: {str(exc).split(': ', 1)[-1]}"
            raise DataSourceError(msg) from None


def envelope_params(area: AreaWindow) -> dict[str, str]:
    xmin, ymin, xmax, ymax = area.envelope
    return {
        "where": "1=1",
        "geometry": f"{xmin:.0f},{ymin:.0f},{xmax:.0f},{ymax:.0f}",
        "geometryType": "esriGeometryEnvelope",
        "inSR": settings.measure_crs.split(":")[1],
        "spatialRel": "esriSpatialRelIntersects",
    }


def write_gpkg(frame: gpd.GeoDataFrame, target: Path, layer: str) -> None:
    with atomic_path(target) as tmp:
        frame.to_file(tmp, layer=layer, driver="GPKG")


def boundary_from_service(source: Source, url: str, codes: frozenset[str], session: requests.Session) -> BaseGeometry:
    column = source.columns["lsoa_code"][0]
    quoted = ",".join(f"'{code}'" for code in sorted(codes))
    own = arcgis_features(source, url, {"where": f"{column} IN ({quoted})"}, session=session)
    return own.geometry.union_all()
