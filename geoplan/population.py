"""Where young children live, at postcode grain.

Census 2021 counts children aged 0-4 per LSOA. Coverage needs them as points that can be
walked from, so each LSOA's count is shared among the postcode unit centroids that fall inside
it, and an LSOA with no postcode keeps its count at its population-weighted centroid.

Weighting: OS Code-Point Open carries no residential flag or delivery-point count, so every
live postcode in an LSOA gets an equal share. Shares are whole children, allocated by the
largest-remainder method (ties broken by postcode order), so every LSOA total is preserved
exactly and every table built from the points adds up to the Census figures.

Under-3s and under-2s: TS007A gives five-year bands only, so within the 0-4 band ages are
taken as evenly spread: under-3s = 3/5 and under-2s = 2/5 of the 0-4 count. These are
estimates and are reported as such (floats, never suppressed-count tables).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from geoplan import settings
from geoplan.errors import InputError

YEARS_IN_BAND = 5
#: Most children aged 0-4 one LSOA can hold (an LSOA has about 1,500 residents).
MAX_CHILDREN_PER_LSOA = 10_000
#: The child counts of every origin point: whole children aged 0-4, and the estimated under-3s and under-2s.
CHILD_COLUMNS = ("children_0_4", "under_3", "under_2")
UNDER_3_SHARE = 3 / YEARS_IN_BAND
UNDER_2_SHARE = 2 / YEARS_IN_BAND


def largest_remainder(total: int, parts: int) -> np.ndarray:
    """Split the whole number ``total`` into ``parts`` near-equal whole numbers summing to it exactly."""
    base, extra = divmod(int(total), parts)
    shares = np.full(parts, base, dtype=np.int64)
    shares[:extra] += 1
    return shares


def children_points(lsoas: gpd.GeoDataFrame, postcodes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Spread each LSOA's children aged 0-4 over the postcodes inside it.

    Parameters
    ----------
    lsoas
        The study area's LSOAs with ``lsoa_code``, ``ward_code``, ``imd_decile``, ``idaci_decile``,
        ``children_0_4`` and the population-weighted centroid in ``centroid_x``/``centroid_y``.
    postcodes
        Postcode points with ``postcode`` and ``lsoa_code`` (None outside the study area).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per origin point: ``origin_id`` (the postcode, or ``LSOA:<code>`` for a centroid),
        ``kind`` (postcode or lsoa_centroid), ``lsoa_code``, ``ward_code``, ``imd_decile``,
        ``idaci_decile``, ``children_0_4`` (int), ``under_3``, ``under_2`` (float estimates), geometry.

    Raises
    ------
    InputError
        An LSOA's count is not a whole number from 0 to :data:`MAX_CHILDREN_PER_LSOA`.
    """
    counts = pd.to_numeric(lsoas["children_0_4"], errors="coerce").to_numpy(float)
    bad = ~(np.isfinite(counts) & (counts >= 0) & (counts <= MAX_CHILDREN_PER_LSOA) & (np.mod(counts, 1) == 0))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        code = lsoas["lsoa_code"].iloc[first]
        msg = f"LSOA {code}: {lsoas['children_0_4'].iloc[first]!r} is not a whole number from 0 to {MAX_CHILDREN_PER_LSOA:,}"
        raise InputError(msg, field="children_0_4")
    inside = postcodes[postcodes["lsoa_code"].isin(lsoas["lsoa_code"])].sort_values("postcode")
    frames = []
    by_lsoa = dict(tuple(inside.groupby("lsoa_code", sort=False)))
    for lsoa in lsoas.itertuples(index=False):
        members = by_lsoa.get(lsoa.lsoa_code)
        if members is None or members.empty:
            frames.append(
                pd.DataFrame(
                    {
                        "origin_id": [f"LSOA:{lsoa.lsoa_code}"],
                        "kind": ["lsoa_centroid"],
                        "lsoa_code": [lsoa.lsoa_code],
                        "children_0_4": [int(lsoa.children_0_4)],
                        "x": [lsoa.centroid_x],
                        "y": [lsoa.centroid_y],
                    }
                )
            )
            continue
        frames.append(
            pd.DataFrame(
                {
                    "origin_id": members["postcode"].to_numpy(),
                    "kind": "postcode",
                    "lsoa_code": lsoa.lsoa_code,
                    "children_0_4": largest_remainder(lsoa.children_0_4, len(members)),
                    "x": members.geometry.x.to_numpy(),
                    "y": members.geometry.y.to_numpy(),
                }
            )
        )
    points = pd.concat(frames, ignore_index=True)
    attributes = lsoas[["lsoa_code", "ward_code", "imd_decile", "idaci_decile"]]
    points = points.merge(attributes, on="lsoa_code", how="left", validate="many_to_one")
    points["under_3"] = points["children_0_4"] * UNDER_3_SHARE
    points["under_2"] = points["children_0_4"] * UNDER_2_SHARE
    geometry = gpd.points_from_xy(points.pop("x"), points.pop("y"), crs=settings.measure_crs)
    columns = ["origin_id", "kind", "lsoa_code", "ward_code", "imd_decile", "idaci_decile", *CHILD_COLUMNS]
    return gpd.GeoDataFrame(points[columns], geometry=geometry, crs=settings.measure_crs)
