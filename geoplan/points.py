"""Places people give geoplan: read from CSV, projected to EPSG:27700 and checked to be where they should.

Every point a user supplies (origins, destinations, venues) passes through here, so a point in the
wrong place is refused the same way in every command and every mode: swapped latitude and
longitude, a coordinate outside Great Britain, outside the walking network's extent, or outside
the study area and its margin (crow-fly times included, which have no network to catch it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely

from geoplan import settings
from geoplan.errors import InputError
from geoplan.fileio import csv_line, read_csv

if TYPE_CHECKING:
    from geoplan.network import WalkNetwork
    from geoplan.studyarea import StudyArea

# Great Britain's extent in EPSG:27700 and in lon/lat: coordinates outside cannot be English points.
_BNG_MAX_X, _BNG_MAX_Y = 700_000.0, 1_300_000.0
_UK_LAT = (49.0, 61.0)
_UK_LON = (-9.0, 2.5)


def as_points(values: np.ndarray, ids: Sequence[object] | None) -> tuple[np.ndarray, list[str]]:
    """Coordinates as an ``(n, 2)`` float array and their labels as strings (default: positions)."""
    xy = np.asarray(values, dtype=float).reshape(-1, 2)
    return xy, [str(i) for i in (ids if ids is not None else range(len(xy)))]


def check_extent(network: WalkNetwork, xy: np.ndarray, ids: list[str], *, what: str, path: object = None) -> None:
    """Raise if a point lies outside the network's extent (its bounding box plus the snapping threshold)."""
    minx, miny, maxx, maxy = network.bounds
    pad = settings.max_snap_m
    outside = (xy[:, 0] < minx - pad) | (xy[:, 0] > maxx + pad) | (xy[:, 1] < miny - pad) | (xy[:, 1] > maxy + pad)
    extent = f"the walking network's extent ({minx:.0f}, {miny:.0f}, {maxx:.0f}, {maxy:.0f})"
    _refuse_outside(outside, xy, ids, what=what, place=extent, path=path)


def check_within_area(area: StudyArea, xy: np.ndarray, ids: list[str], *, what: str, path: object = None) -> None:
    """Raise if a point lies outside the study area and its margin (``area.catalogue.area.margin_m``).

    Checked in every mode: crow-fly times have no network extent to catch a point in the wrong
    place, and would happily measure from a venue in France.
    """
    margin = float(area.catalogue.area.margin_m)
    window = area.boundary.geometry.buffer(margin).union_all()
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    outside = ~shapely.contains_xy(window, xy[:, 0], xy[:, 1])
    _refuse_outside(outside, xy, ids, what=what, place=f"{area.name} and its {margin:g} m margin", path=path)


def _refuse_outside(
    outside: np.ndarray, xy: np.ndarray, ids: list[str], *, what: str, place: str, path: object
) -> None:
    """Raise naming the first point flagged ``outside`` ``place`` (and its line, for points read from a file)."""
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        msg = (
            f"{what} {ids[first]!r} at ({xy[first, 0]:.0f}, {xy[first, 1]:.0f}) EPSG:27700 lies outside {place}; "
            f"{int(outside.sum())} point(s) outside"
        )
        raise InputError(msg, path=path, line=csv_line(path, first) if path is not None else None, field="coordinates")


def read_points_csv(path: str | Path, *, what: str = "points") -> tuple[list[str], np.ndarray]:
    """Read ``id,lon,lat`` (WGS84) or ``id,x,y`` (EPSG:27700) points; return ids and EPSG:27700 coordinates.

    Raises
    ------
    InputError
        Missing file or columns, empty file, non-numeric or duplicate values, coordinates outside
        Great Britain, or latitude and longitude that look swapped.
    """
    path = Path(path)
    frame = read_csv(path)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if "id" not in frame.columns:
        msg = f"missing column 'id'; expected id,lon,lat or id,x,y (found {','.join(frame.columns)})"
        raise InputError(msg, path=path, field="id")
    if {"lon", "lat"} <= set(frame.columns):
        columns, geographic = ("lon", "lat"), True
    elif {"x", "y"} <= set(frame.columns):
        columns, geographic = ("x", "y"), False
    else:
        msg = f"missing coordinate columns; expected id,lon,lat or id,x,y (found {','.join(frame.columns)})"
        raise InputError(msg, path=path, field="lon/lat")
    if frame.empty:
        msg = f"{what} file has no rows"
        raise InputError(msg, path=path)
    values = np.empty((len(frame), 2))
    for k, column in enumerate(columns):
        numbers = pd.to_numeric(frame[column].str.strip(), errors="coerce")
        bad = numbers.isna() | ~np.isfinite(numbers)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            msg = f"not a number: {frame[column].iloc[row]!r}"
            raise InputError(msg, path=path, line=csv_line(path, row), field=column)
        values[:, k] = numbers.to_numpy(float)
    ids = frame["id"].str.strip()
    if (ids == "").any():
        row = int(np.flatnonzero((ids == "").to_numpy())[0])
        raise InputError("empty id", path=path, line=csv_line(path, row), field="id")
    duplicated = ids.duplicated()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        msg = f"duplicate id {ids.iloc[row]!r}"
        raise InputError(msg, path=path, line=csv_line(path, row), field="id")
    if geographic:
        return ids.tolist(), _lonlat_to_bng(values, path)
    outside = (values[:, 0] < 0) | (values[:, 0] > _BNG_MAX_X) | (values[:, 1] < 0) | (values[:, 1] > _BNG_MAX_Y)
    if outside.any():
        row = int(np.flatnonzero(outside)[0])
        msg = f"({values[row, 0]:g}, {values[row, 1]:g}) is not an EPSG:27700 coordinate in Great Britain (metres expected)"
        raise InputError(msg, path=path, line=csv_line(path, row), field="x")
    return ids.tolist(), values


def _lonlat_to_bng(values: np.ndarray, path: Path) -> np.ndarray:
    from pyproj import Transformer

    lon, lat = values[:, 0], values[:, 1]
    swapped = (lon >= _UK_LAT[0]) & (lon <= _UK_LAT[1]) & (lat >= _UK_LON[0]) & (lat <= _UK_LON[1])
    if swapped.any():
        row = int(np.flatnonzero(swapped)[0])
        msg = f"lon {lon[row]:g} and lat {lat[row]:g} look swapped (British latitudes are 49-61)"
        raise InputError(msg, path=path, line=csv_line(path, row), field="lat")
    outside = (lat < _UK_LAT[0]) | (lat > _UK_LAT[1]) | (lon < _UK_LON[0]) | (lon > _UK_LON[1])
    if outside.any():
        row = int(np.flatnonzero(outside)[0])
        msg = f"lon {lon[row]:g}, lat {lat[row]:g} is not in Great Britain (use id,x,y for EPSG:27700 metres)"
        raise InputError(msg, path=path, line=csv_line(path, row), field="lon")
    transformer = Transformer.from_crs(settings.display_crs, settings.measure_crs, always_xy=True)
    x, y = transformer.transform(lon, lat)
    return np.column_stack([x, y])
