"""The area window: a local authority's outline and the margin every national file is cut down to."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property

import geopandas as gpd
import pandas as pd
from shapely.geometry.base import BaseGeometry

from geoplan import settings
from geoplan.errors import DataSourceError
from geoplan.sources import find_local, get_source


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
