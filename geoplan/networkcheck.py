"""How far walking times can be trusted: where the network ends, and what crow-fly would have said.

An OpenStreetMap extract is complete only inside the box it was cut from (the catalogue's
``network.complete_extent``); beyond it only the ends of streets crossing the edge exist. A walk
that would leave the box may be longer on the extract than in reality, so a child can look out
of reach who is not. :func:`network_edge_report` says which points lie beyond the box and how
many children's walking band could be understated by its edge; :func:`compare_methods` measures
the price of the crow-fly fallback on an area that has a network.

Any walk of at most ``L`` metres between two points stays inside the ellipse with those points
as foci and ``L`` as the sum of distances to them. When that ellipse lies inside the complete
box, the network holds every street such a walk could use, so "not within the band" is exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoplan.bands import DEFAULT_BANDS, check_bands
from geoplan.studyarea import BEYOND_NETWORK, StudyArea
from geoplan.text import plural
from geoplan.traveltime import TravelTimeMatrix
from geoplan.workspace import NETWORK, Workspace

#: Metres in a kilometre and minutes in an hour, to turn a pace into metres per minute.
_METRES_PER_KM, _MINUTES_PER_HOUR = 1000.0, 60.0
#: An LSOA counts as "within" a band when at least this share of its children are.
LSOA_MAJORITY = 0.5


def _xy(frame: pd.DataFrame) -> np.ndarray:
    return np.column_stack([frame.geometry.x.to_numpy(float), frame.geometry.y.to_numpy(float)])


def _matrix_points(area: StudyArea, travel_times: TravelTimeMatrix) -> tuple[np.ndarray, np.ndarray]:
    """Origin and destination coordinates in the row and column order of ``travel_times``."""
    origins = area.children.set_index(area.children["origin_id"].astype(str)).loc[travel_times.origin_ids]
    venues = area.venues.set_index(area.venues["venue_id"].astype(str)).loc[travel_times.destination_ids]
    return _xy(origins), _xy(venues)


def walk_may_leave_extent(
    origins: np.ndarray, destinations: np.ndarray, *, walk_m: float, extent: tuple[float, float, float, float]
) -> np.ndarray:
    """Origin × destination mask: a walk of at most ``walk_m`` metres between the two could leave ``extent``.

    Pairs farther apart in a straight line than ``walk_m`` are ``False`` (no such walk exists).
    """
    min_x, min_y, max_x, max_y = extent
    dx = destinations[None, :, 0] - origins[:, None, 0]
    dy = destinations[None, :, 1] - origins[:, None, 1]
    focal = np.hypot(dx, dy)
    semi_major = walk_m / 2.0
    semi_minor = np.sqrt(np.clip(semi_major**2 - (focal / 2.0) ** 2, 0.0, None))
    # Direction of the major axis; coincident points give a circle, so any direction will do.
    angle = np.arctan2(dy, dx)
    cos, sin = np.cos(angle), np.sin(angle)
    half_x = np.sqrt((semi_major * cos) ** 2 + (semi_minor * sin) ** 2)
    half_y = np.sqrt((semi_major * sin) ** 2 + (semi_minor * cos) ** 2)
    centre_x = (origins[:, None, 0] + destinations[None, :, 0]) / 2.0
    centre_y = (origins[:, None, 1] + destinations[None, :, 1]) / 2.0
    inside = (
        (centre_x - half_x >= min_x)
        & (centre_x + half_x <= max_x)
        & (centre_y - half_y >= min_y)
        & (centre_y + half_y <= max_y)
    )
    return (focal <= walk_m) & ~inside


def reaches_extent_edge(catchments: gpd.GeoSeries, extent: tuple[float, float, float, float]) -> np.ndarray:
    """Whether each catchment polygon reaches beyond ``extent``, so streets missing there could have let it grow.

    A catchment that stays inside the box never reached its edge within its band, so streets
    beyond the edge could not have added to it.
    """
    return ~catchments.within(shapely.box(*extent)).to_numpy()


@dataclass(frozen=True)
class NetworkEdgeReport:
    """Where a study area's walking network stops being complete, and what that may hide.

    Attributes
    ----------
    extent
        The complete-coverage box (EPSG:27700).
    venues_beyond
        Names of located venues outside the box (walks to them may be longer than real).
    children_beyond
        Children aged 0-4 counted at origins outside the box.
    children_possibly_understated
        Band (minutes) → children not within the band on the network whose walk to some venue
        could be within it if the network continued past its edge.
    catchments_cut
        Band → names of venues whose walking catchment could reach the edge of the box.
    """

    extent: tuple[float, float, float, float]
    venues_beyond: tuple[str, ...]
    children_beyond: int
    children_possibly_understated: dict[float, float]
    catchments_cut: dict[float, tuple[str, ...]]

    def to_dict(self) -> dict[str, object]:
        """Plain types for ``--json`` output."""
        return {
            "complete_extent_27700": list(self.extent),
            "venues_beyond": list(self.venues_beyond),
            "children_0_4_beyond": self.children_beyond,
            "children_0_4_possibly_understated": {
                f"{band:g}": round(value, 1) for band, value in self.children_possibly_understated.items()
            },
            "catchments_possibly_cut": {f"{band:g}": list(names) for band, names in self.catchments_cut.items()},
        }

    def statements(self) -> list[str]:
        """One plain sentence per finding, for tables, reports and warnings."""
        lines = []
        if self.venues_beyond:
            lines.append(
                f"{plural(len(self.venues_beyond), 'venue')} lie beyond the area where the street network is complete "
                f"({', '.join(self.venues_beyond)}): walks to them may be longer than they really are."
            )
        if self.children_beyond:
            lines.append(
                f"{plural(self.children_beyond, 'child', 'children')} aged 0-4 live beyond the complete street network."
            )
        for band, children in self.children_possibly_understated.items():
            if children > 0:
                lines.append(
                    f"Within {band:g} minutes: up to {children:,.0f} more children could be in reach; their walk would "
                    "leave the mapped streets, so the network cannot confirm it."
                )
        if not any(self.children_possibly_understated.values()):
            lines.append("No child's walking band depends on streets beyond the edge of the network.")
        return lines


def network_edge_report(
    workspace: Workspace, *, venue_ids: Sequence[str] | None = None, bands: Iterable[float] = DEFAULT_BANDS
) -> NetworkEdgeReport | None:
    """What the edge of the walking network may hide for ``venue_ids`` (default: every located venue).

    Returns ``None`` when the workspace uses crow-fly estimates or the catalogue states no
    ``network.complete_extent``.
    """
    area = workspace.area
    if workspace.method != NETWORK or area.network_extent is None:
        return None
    bands = check_bands(bands)
    travel_times = workspace.travel_times()
    origins, destinations = _matrix_points(area, travel_times)
    wanted = list(travel_times.destination_ids) if venue_ids is None else [str(v) for v in venue_ids]
    columns = [index for index, venue in enumerate(travel_times.destination_ids) if venue in set(wanted)]
    metres_per_minute = travel_times.speed_kmh * _METRES_PER_KM / _MINUTES_PER_HOUR
    children = area.children.set_index(area.children["origin_id"].astype(str)).loc[
        travel_times.origin_ids, "children_0_4"
    ]
    minutes = np.asarray(travel_times.minutes)[:, columns]
    nearest = minutes.min(axis=1) if columns else np.full(len(children), np.inf)
    names = area.venues.set_index(area.venues["venue_id"].astype(str))["name"]
    understated, cut = {}, {}
    for band in bands:
        walk_m = band * metres_per_minute
        leaves = walk_may_leave_extent(origins, destinations[columns], walk_m=walk_m, extent=area.network_extent)
        hidden = (nearest > band) & (leaves & ~(minutes <= band)).any(axis=1)
        understated[band] = float(children.to_numpy()[hidden].sum())
        min_x, min_y, max_x, max_y = area.network_extent
        reach = destinations[columns]
        out = (
            (reach[:, 0] - walk_m < min_x)
            | (reach[:, 0] + walk_m > max_x)
            | (reach[:, 1] - walk_m < min_y)
            | (reach[:, 1] + walk_m > max_y)
        )
        cut[band] = tuple(
            str(names[travel_times.destination_ids[column]]) for column, flag in zip(columns, out, strict=True) if flag
        )
    beyond = area.venues[area.venues[BEYOND_NETWORK] & area.venues["venue_id"].astype(str).isin(wanted)]
    return NetworkEdgeReport(
        extent=area.network_extent,
        venues_beyond=tuple(str(name) for name in beyond["name"]),
        children_beyond=int(area.children.loc[area.children[BEYOND_NETWORK], "children_0_4"].sum()),
        children_possibly_understated=understated,
        catchments_cut=cut,
    )


@dataclass(frozen=True)
class MethodComparison:
    """Network walking times against the calibrated crow-fly estimate, on one area.

    Attributes
    ----------
    table
        One row per band: children within it by each method, children within it by one method
        only, and the share of origin-venue pairs on which the two disagree about being within
        it (of all pairs, and of the pairs either method puts within it).
    lsoa_flips
        LSOAs whose majority of children is within a band by one method and not by the other
        (band, LSOA code and name, children within by each method).
    circuity
        The crow-fly circuity factor of the area's catalogue.
    pairs
        Origin-venue pairs compared.
    """

    table: pd.DataFrame
    lsoa_flips: pd.DataFrame
    circuity: float
    pairs: int

    def to_markdown(self) -> str:
        """The README table."""
        header = (
            "| band | children within, network | children within, crow-fly | within by crow-fly only | within by network only "
            "| pairs that disagree (all / near) |\n|---|---|---|---|---|---|"
        )
        rows = [
            f"| {row.band:g} min | {row.network:,.0f} | {row.crowfly:,.0f} | {row.crowfly_only:,.0f} | {row.network_only:,.0f} "
            f"| {row.pairs_disagree:.1%} / {row.near_pairs_disagree:.0%} |"
            for row in self.table.itertuples()
        ]
        return "\n".join([header, *rows])


def compare_methods(
    area: StudyArea,
    *,
    venue_ids: Sequence[str] | None = None,
    bands: Iterable[float] = DEFAULT_BANDS,
    profile: str = "buggy",
) -> MethodComparison:
    """Children within each band of ``venue_ids`` on the network and by crow-fly, and where the two disagree.

    Both matrices come from :class:`~geoplan.workspace.Workspace` (one with the area's network,
    one forced to the crow-fly fallback), so they use the same origins, venues and pace.
    """
    bands = check_bands(bands)
    network = Workspace(area, profile=profile).travel_times()
    if network.method != NETWORK:
        msg = f"{area.name} has no walking network to compare the crow-fly estimate with"
        raise ValueError(msg)
    crowfly = Workspace(area, profile=profile, crowfly=True).travel_times()
    wanted = set(network.destination_ids if venue_ids is None else map(str, venue_ids))
    columns = [index for index, venue in enumerate(network.destination_ids) if venue in wanted]
    by_network, by_crowfly = np.asarray(network.minutes)[:, columns], np.asarray(crowfly.minutes)[:, columns]
    children = area.children.set_index(area.children["origin_id"].astype(str)).loc[network.origin_ids]
    counts = children["children_0_4"].to_numpy(float)
    rows, flips = [], []
    for band in bands:
        near_network, near_crowfly = by_network.min(axis=1) <= band, by_crowfly.min(axis=1) <= band
        pair_network, pair_crowfly = by_network <= band, by_crowfly <= band
        either = pair_network | pair_crowfly
        rows.append(
            {
                "band": band,
                "network": counts[near_network].sum(),
                "crowfly": counts[near_crowfly].sum(),
                "crowfly_only": counts[near_crowfly & ~near_network].sum(),
                "network_only": counts[near_network & ~near_crowfly].sum(),
                "pairs_disagree": float((pair_network != pair_crowfly).mean()),
                "near_pairs_disagree": float((pair_network != pair_crowfly)[either].mean()) if either.any() else 0.0,
            }
        )
        per_lsoa = (
            pd.DataFrame(
                {
                    "lsoa_code": children["lsoa_code"].to_numpy(),
                    "network": counts * near_network,
                    "crowfly": counts * near_crowfly,
                    "children": counts,
                }
            )
            .groupby("lsoa_code")
            .sum()
        )
        majority_network = per_lsoa["network"] >= LSOA_MAJORITY * per_lsoa["children"]
        majority_crowfly = per_lsoa["crowfly"] >= LSOA_MAJORITY * per_lsoa["children"]
        for code, row in per_lsoa[majority_network != majority_crowfly].iterrows():
            flips.append(
                {
                    "band": band,
                    "lsoa_code": code,
                    "children": row.children,
                    "network": row.network,
                    "crowfly": row.crowfly,
                }
            )
    names = area.lsoas.set_index("lsoa_code")["lsoa_name"]
    flip_frame = pd.DataFrame(flips, columns=["band", "lsoa_code", "children", "network", "crowfly"])
    flip_frame.insert(2, "lsoa_name", flip_frame["lsoa_code"].map(names))
    return MethodComparison(
        table=pd.DataFrame(rows), lsoa_flips=flip_frame, circuity=float(crowfly.circuity or 0.0), pairs=by_network.size
    )
