"""Coverage, gaps and accessibility of venues for young children.

All measures work on one origin × venue travel-time matrix (:class:`geoplan.traveltime.TravelTimeMatrix`)
whose origins are the study area's child points (``area.children``). A venue configuration is just
a set of matrix columns, so a scenario is re-measured by masking columns, with no routing.

Headline figures committees quote: the share of children aged 0-4 within a walking band of a
venue, overall, by national IMD and IDACI decile, by ward, and for children in the "0-30%" and
"0-50%" most deprived LSOAs nationally (IMD deciles 1-3 and 1-5).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, linkage

from geoplan import settings
from geoplan.bands import DEFAULT_BANDS, HEADLINE_MINUTES, check_bands
from geoplan.errors import InputError
from geoplan.fileio import atomic_path, write_csv
from geoplan.programme import Configuration
from geoplan.studyarea import StudyArea
from geoplan.text import json_safe, plural

if TYPE_CHECKING:
    from geoplan.traveltime import TravelTimeMatrix

#: How each population is named in a sentence ("children aged 0-4").
POPULATION_LABELS = {"children_0_4": "aged 0-4", "under_3": "under 3", "under_2": "under 2"}
#: How each way of measuring walking time is named in a sentence.
METHOD_WORDS = {"network": "along the walking network", "crow-fly": "crow-fly estimate"}
#: IMD deciles making up "the 30% / 50% most deprived LSOAs nationally".
MOST_DEPRIVED_30_DECILES = (1, 2, 3)
MOST_DEPRIVED_50_DECILES = (1, 2, 3, 4, 5)
#: National deprivation quintiles compared by the equity ratio.
MOST_DEPRIVED_QUINTILE = (1, 2)
LEAST_DEPRIVED_QUINTILE = (9, 10)
#: E2SFCA step weights (upper bound of the band in minutes, weight), after Luo & Qi (2009).
E2SFCA_STEPS: tuple[tuple[float, float], ...] = ((10.0, 1.0), (20.0, 0.68), (30.0, 0.22))
#: Half-width drawn around a cluster's postcodes so single postcodes show as areas on a map.
POSTCODE_HALO_M = 100.0


def _aligned_minutes(area: StudyArea, travel_times: TravelTimeMatrix) -> np.ndarray:
    origin_ids = np.asarray(travel_times.origin_ids)
    expected = area.children["origin_id"].to_numpy()
    if origin_ids.shape != expected.shape or not np.array_equal(origin_ids, expected):
        msg = "travel-time matrix origins are not the study area's child points (rebuild the matrix for this area)"
        raise InputError(msg, field="origins")
    return np.asarray(travel_times.minutes)


def _located(area: StudyArea, venue_ids: Iterable[str], destination_ids: Iterable[str]) -> list[str]:
    """Keep the venues that have a place (and so a matrix column); unlocated ones cannot reach anyone."""
    available = set(destination_ids)
    return [venue for venue in venue_ids if venue in available]


@dataclass
class CoverageResult:
    """Children within each walking band of a venue set, overall and by group.

    The equity ratio is the share of children covered in the most deprived national IMD quintile
    (deciles 1-2) divided by the share covered in the least deprived quintile (deciles 9-10), at each
    band: 1 means equal access, above 1 means services reach the most deprived areas better, and
    ``None`` means one of the two quintiles has no children in the study area.
    """

    method: str
    profile: str
    bands: tuple[float, ...]
    venue_ids: tuple[str, ...]
    population: str
    overall: pd.DataFrame
    by_imd_decile: pd.DataFrame
    by_idaci_decile: pd.DataFrame
    by_ward: pd.DataFrame
    most_deprived_30: pd.DataFrame
    most_deprived_50: pd.DataFrame
    equity_ratio: dict[float, float | None] = field(default_factory=dict)

    def headline(self, minutes: float = HEADLINE_MINUTES, *, counted: str | None = None) -> str:
        """The sentence the CLI, map, figure and report all quote, at ``minutes``.

        ``counted`` names what was counted (``"one of 6 centres (…)"``); by default the number
        of venues.
        """
        row = self.most_deprived_30.loc[minutes]
        overall = self.overall.loc[minutes]
        population = POPULATION_LABELS.get(self.population, self.population)
        counted = counted if counted is not None else f"one of the {plural(len(self.venue_ids), 'venue')} counted"
        return (
            f"{row['share']:.1%} of children {population} in the 30% most deprived areas nationally "
            f"({int(row['covered']):,} of {int(row['total']):,}) live within a {minutes:g}-minute walk "
            f"({self.profile} pace, {METHOD_WORDS.get(self.method, self.method)}) of {counted}; "
            f"{overall['share']:.1%} of all children."
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-safe form of every table."""

        def records(frame: pd.DataFrame) -> list[dict[str, object]]:
            named_index = [name for name in frame.index.names if name is not None]
            table = frame.reset_index() if named_index else frame.reset_index(drop=True)
            return json_safe(table)

        return {
            "method": self.method,
            "profile": self.profile,
            "population": self.population,
            "bands_minutes": list(self.bands),
            "venues": list(self.venue_ids),
            "overall": records(self.overall),
            "most_deprived_30": records(self.most_deprived_30),
            "most_deprived_50": records(self.most_deprived_50),
            "by_imd_decile": records(self.by_imd_decile),
            "by_idaci_decile": records(self.by_idaci_decile),
            "by_ward": records(self.by_ward),
            "equity_ratio": {f"{band:g}": ratio for band, ratio in self.equity_ratio.items()},
            "headline": self.headline(HEADLINE_MINUTES) if HEADLINE_MINUTES in self.bands else None,
        }


def _share_table(frame: pd.DataFrame, population: str, bands: tuple[float, ...], group: str | None) -> pd.DataFrame:
    # Plain numpy sums over each group's rows (the same rows, in the same order, as pandas would
    # sum, so the figures are identical): the planner app re-measures on every edit.
    values = frame[population].to_numpy()
    minutes = frame["minutes"].to_numpy()
    groups = {None: np.arange(len(frame))} if group is None else frame.groupby(group, sort=True).indices
    rows = []
    for key, positions in groups.items():
        members, walked = values[positions], minutes[positions]
        total = members.sum()
        for band in bands:
            covered = members[walked <= band].sum()
            rows.append(
                {
                    **({group: key} if group is not None else {}),
                    "band": band,
                    "covered": covered,
                    "total": total,
                    "share": float(covered / total) if total else float("nan"),
                }
            )
    table = pd.DataFrame(rows)
    return table.set_index("band") if group is None else table


def measure_coverage(
    area: StudyArea,
    travel_times: TravelTimeMatrix,
    *,
    venue_ids: Sequence[str],
    bands: Iterable[float] = DEFAULT_BANDS,
    population: str = "children_0_4",
) -> CoverageResult:
    """Children within each walking band of the nearest of ``venue_ids``.

    Parameters
    ----------
    area
        The study area (its ``children`` are the matrix origins).
    travel_times
        Origin × venue minutes for the area.
    venue_ids
        The venues that count; unlocated ones are ignored (they cannot be walked to).
    bands
        Walking bands in minutes.
    population
        Column of ``area.children`` to count: ``children_0_4``, ``under_3`` or ``under_2``.

    Returns
    -------
    CoverageResult
    """
    bands = check_bands(bands)
    if population not in ("children_0_4", "under_3", "under_2"):
        msg = f"unknown population {population!r}; use children_0_4, under_3 or under_2"
        raise InputError(msg, field="population")
    _aligned_minutes(area, travel_times)
    located = _located(area, venue_ids, travel_times.destination_ids)
    minutes = travel_times.minutes_to_nearest(located)
    frame = pd.DataFrame(area.children[["ward_code", "imd_decile", "idaci_decile", population]])
    frame["minutes"] = minutes
    ward_names = area.wards.set_index("ward_code")["ward_name"]
    by_ward = _share_table(frame, population, bands, "ward_code")
    by_ward.insert(1, "ward_name", by_ward["ward_code"].map(ward_names))
    most_30 = _share_table(frame[frame["imd_decile"].isin(MOST_DEPRIVED_30_DECILES)], population, bands, None)
    most_50 = _share_table(frame[frame["imd_decile"].isin(MOST_DEPRIVED_50_DECILES)], population, bands, None)
    low = _share_table(frame[frame["imd_decile"].isin(MOST_DEPRIVED_QUINTILE)], population, bands, None)
    high = _share_table(frame[frame["imd_decile"].isin(LEAST_DEPRIVED_QUINTILE)], population, bands, None)
    equity = {}
    for band in bands:
        low_share = low.loc[band, "share"] if band in low.index else float("nan")
        high_share = high.loc[band, "share"] if band in high.index else float("nan")
        ratio = low_share / high_share if np.isfinite(low_share) and np.isfinite(high_share) and high_share else None
        equity[band] = None if ratio is None else float(ratio)
    return CoverageResult(
        method=travel_times.method,
        profile=travel_times.profile,
        bands=bands,
        venue_ids=tuple(located),
        population=population,
        overall=_share_table(frame, population, bands, None),
        by_imd_decile=_share_table(frame, population, bands, "imd_decile"),
        by_idaci_decile=_share_table(frame, population, bands, "idaci_decile"),
        by_ward=by_ward,
        most_deprived_30=most_30,
        most_deprived_50=most_50,
        equity_ratio=equity,
    )


@dataclass(frozen=True)
class GapWeights:
    """How gaps are ranked: need = children beyond the band × deprivation weight × excess minutes.

    The deprivation weight is taken from the LSOA's national IDACI decile (the children's index):
    ``weight = 1 + step × (pivot_decile - decile)`` for deciles below the pivot, else 1, so with the
    defaults decile 1 weighs 2.0, decile 3 weighs 1.5 and deciles 5-10 weigh 1.0. Children beyond
    the matrix cutoff (no venue reachable) count ``unreachable_minutes`` of walking.
    """

    index: str = "idaci_decile"
    step: float = 0.25
    pivot_decile: int = 5
    unreachable_minutes: float = 60.0
    #: Largest distance between two postcodes of one gap cluster (complete linkage), about a
    #: 15-minute buggy walk across, so a cluster is an area one new venue or session could serve.
    cluster_diameter_m: float = 1000.0

    def weight(self, deciles: pd.Series) -> pd.Series:
        """Deprivation weight of each decile."""
        return 1.0 + self.step * (self.pivot_decile - deciles).clip(lower=0)


@dataclass
class GapResult:
    """Where children live beyond the walking band, ranked by need."""

    method: str
    minutes: float
    lsoas: gpd.GeoDataFrame
    clusters: gpd.GeoDataFrame

    def write(self, gpkg: str | Path, csv: str | Path | None = None) -> None:
        """Write both layers to a GeoPackage (and the LSOA table to CSV), atomically."""
        with atomic_path(gpkg) as tmp:
            self.lsoas.to_file(tmp, layer="lsoa_gaps", driver="GPKG")
            self.clusters.to_file(tmp, layer="postcode_clusters", driver="GPKG")
        if csv is not None:
            write_csv(csv, self.lsoas.drop(columns="geometry"), index=False)


def find_gaps(
    area: StudyArea,
    travel_times: TravelTimeMatrix,
    *,
    venue_ids: Sequence[str],
    minutes: float = HEADLINE_MINUTES,
    weights: GapWeights = GapWeights(),
) -> GapResult:
    """LSOAs and clusters of postcodes whose children are beyond ``minutes`` of the venues, ranked by need.

    Each gap carries its reason: the nearest venue (id and name) and the minutes to it.
    """
    (minutes,) = check_bands([minutes])
    _aligned_minutes(area, travel_times)
    located = _located(area, venue_ids, travel_times.destination_ids)
    if not located:
        msg = "the venue set is empty: no open, located venue matches the request"
        raise InputError(msg, field="venues")
    position = {venue: index for index, venue in enumerate(travel_times.destination_ids)}
    sub = np.asarray(travel_times.minutes)[:, [position[venue] for venue in located]]
    nearest_index = sub.argmin(axis=1)
    nearest_minutes = sub[np.arange(len(sub)), nearest_index]
    names = area.venues.set_index("venue_id")["name"]
    children = area.children.copy()
    children["nearest_id"] = np.asarray(located)[nearest_index]
    children["nearest_name"] = children["nearest_id"].map(names)
    children["minutes"] = np.where(np.isfinite(nearest_minutes), nearest_minutes, np.nan)
    walked = np.where(np.isfinite(nearest_minutes), nearest_minutes, weights.unreachable_minutes)
    children["excess_minutes"] = np.clip(walked - minutes, 0, None)
    children["weight"] = weights.weight(children[weights.index]).to_numpy()
    gap = children[(children["excess_minutes"] > 0) & (children["children_0_4"] > 0)].copy()
    gap["need"] = gap["children_0_4"] * gap["weight"] * gap["excess_minutes"]
    gap["weighted_excess"] = gap["children_0_4"] * gap["excess_minutes"]

    per_lsoa = gap.groupby("lsoa_code").agg(
        children_beyond=("children_0_4", "sum"),
        need=("need", "sum"),
        weighted_excess=("weighted_excess", "sum"),
        nearest_minutes=("minutes", "min"),
    )
    nearest_of_lsoa = gap.sort_values("minutes").drop_duplicates("lsoa_code").set_index("lsoa_code")
    per_lsoa["nearest_id"] = nearest_of_lsoa["nearest_id"]
    per_lsoa["nearest_name"] = nearest_of_lsoa["nearest_name"]
    per_lsoa["mean_excess_minutes"] = per_lsoa.pop("weighted_excess") / per_lsoa["children_beyond"]
    lsoas = area.lsoas[
        ["lsoa_code", "lsoa_name", "ward_name", "imd_decile", "idaci_decile", "children_0_4", "geometry"]
    ]
    lsoa_gaps = lsoas.merge(per_lsoa.reset_index(), on="lsoa_code").sort_values("need", ascending=False)
    lsoa_gaps["reason"] = [
        f"{int(row.children_beyond)} children beyond {minutes:g} min; nearest venue {row.nearest_name} "
        + (f"at {row.nearest_minutes:.1f} min" if np.isfinite(row.nearest_minutes) else "not reachable")
        for row in lsoa_gaps.itertuples()
    ]
    lsoa_gaps.insert(0, "rank", np.arange(1, len(lsoa_gaps) + 1))
    lsoa_gaps["method"] = travel_times.method

    clusters = _cluster(gap, weights.cluster_diameter_m)
    clusters["method"] = travel_times.method
    return GapResult(
        method=travel_times.method,
        minutes=minutes,
        lsoas=gpd.GeoDataFrame(lsoa_gaps.reset_index(drop=True), geometry="geometry", crs=settings.measure_crs),
        clusters=clusters,
    )


def _cluster(gap: gpd.GeoDataFrame, diameter_m: float) -> gpd.GeoDataFrame:
    """Group gap postcodes into clusters no wider than ``diameter_m`` (complete-linkage clustering)."""
    columns = [
        "rank",
        "cluster_id",
        "postcodes",
        "children_beyond",
        "need",
        "nearest_id",
        "nearest_name",
        "nearest_minutes",
        "reason",
        "geometry",
    ]
    if gap.empty:
        return gpd.GeoDataFrame(columns=columns, geometry="geometry", crs=settings.measure_crs)
    coordinates = np.column_stack([gap.geometry.x, gap.geometry.y])
    if len(gap) == 1:
        labels = np.zeros(1, dtype=int)
    else:
        labels = fcluster(linkage(coordinates, method="complete"), t=diameter_m, criterion="distance")
    gap = gap.assign(cluster=labels)
    rows = []
    for _, members in gap.groupby("cluster"):
        closest = members.sort_values("minutes").iloc[0]
        hull = members.geometry.union_all().convex_hull.buffer(POSTCODE_HALO_M)
        rows.append(
            {
                "postcodes": len(members),
                "children_beyond": int(members["children_0_4"].sum()),
                "need": float(members["need"].sum()),
                "nearest_id": closest["nearest_id"],
                "nearest_name": closest["nearest_name"],
                "nearest_minutes": float(closest["minutes"]) if np.isfinite(closest["minutes"]) else np.nan,
                "geometry": hull,
            }
        )
    clusters = pd.DataFrame(rows).sort_values("need", ascending=False).reset_index(drop=True)
    clusters.insert(0, "rank", np.arange(1, len(clusters) + 1))
    clusters.insert(1, "cluster_id", [f"gap-{rank:03d}" for rank in clusters["rank"]])
    clusters["reason"] = [
        f"{row.children_beyond} children in {row.postcodes} postcodes; nearest venue {row.nearest_name}"
        + (f" at {row.nearest_minutes:.1f} min" if np.isfinite(row.nearest_minutes) else " not reachable")
        for row in clusters.itertuples()
    ]
    return gpd.GeoDataFrame(clusters[columns], geometry="geometry", crs=settings.measure_crs)


SUPPLY_MEASURES = ("sessions_per_week", "capacity")


def venue_supply(
    configuration: Configuration, venue_ids: Sequence[str], *, measure: str = "sessions_per_week"
) -> pd.Series:
    """Supply of each venue for E2SFCA: its sessions per week (default) or its summed session capacity.

    Capacity is rarely published, so sessions per week is the default; ``measure="capacity"``
    requires a capacity for every session of the venues.
    """
    if measure not in SUPPLY_MEASURES:
        msg = f"unknown supply measure {measure!r}; use {' or '.join(SUPPLY_MEASURES)}"
        raise InputError(msg, field="supply")
    sessions = configuration.sessions[configuration.sessions["venue_id"].isin(venue_ids)]
    if measure == "capacity" and sessions["capacity"].isna().any():
        unknown = sessions.loc[sessions["capacity"].isna(), "session_id"].iloc[0]
        msg = f"session {unknown!r} has no capacity; use sessions_per_week as the supply measure"
        raise InputError(msg, field="capacity")
    supply = sessions.groupby("venue_id")[measure].sum()
    return supply.reindex(list(venue_ids), fill_value=0.0).astype(float)


@dataclass(frozen=True)
class AccessibilitySummary:
    """E2SFCA figures that move with a scenario (supply per child, children-weighted means).

    The children-weighted mean over the whole area is not among them: it equals total supply ÷
    total children whenever every venue has children within reach, so moving sessions between
    venues (or into one centre) leaves it unchanged and it cannot show who gains or loses.
    """

    #: Mean accessibility of children in the 30% most deprived LSOAs nationally (IMD deciles 1-3).
    most_deprived_30: float
    #: Mean accessibility of the fifth of children with the least of it.
    lowest_fifth: float
    #: Children with no venue with supply within the last E2SFCA step.
    without_access: float


def e2sfca_summary(
    area: StudyArea, accessibility: Sequence[float] | np.ndarray, *, population: str = "children_0_4"
) -> AccessibilitySummary:
    """Summarise an :func:`e2sfca` surface by who has how much of it (see :class:`AccessibilitySummary`)."""
    values = np.asarray(accessibility, dtype=float)
    children = area.children[population].to_numpy(dtype=float)
    deprived = area.children["imd_decile"].isin(MOST_DEPRIVED_30_DECILES).to_numpy()
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(children[order])
    fifth = order[cumulative <= cumulative[-1] / 5] if len(order) else order

    def mean(mask: np.ndarray) -> float:
        weight = children[mask].sum()
        return float((values[mask] * children[mask]).sum() / weight) if weight else float("nan")

    lowest = np.zeros(len(values), dtype=bool)
    lowest[fifth] = True
    return AccessibilitySummary(
        most_deprived_30=mean(deprived),
        lowest_fifth=mean(lowest),
        without_access=float(children[values <= 0].sum()),
    )


def e2sfca_change(
    area: StudyArea,
    before: Sequence[float] | np.ndarray,
    after: Sequence[float] | np.ndarray,
    *,
    population: str = "children_0_4",
) -> dict[str, dict[str, float]]:
    """Before, after and change of each :class:`AccessibilitySummary` figure (JSON-safe)."""
    first = e2sfca_summary(area, before, population=population)
    second = e2sfca_summary(area, after, population=population)
    return {
        name: {
            "before": getattr(first, name),
            "after": getattr(second, name),
            "change": getattr(second, name) - getattr(first, name),
        }
        for name in ("most_deprived_30", "lowest_fifth", "without_access")
    }


def e2sfca(
    area: StudyArea,
    travel_times: TravelTimeMatrix,
    *,
    supply: pd.Series,
    steps: Sequence[tuple[float, float]] = E2SFCA_STEPS,
    population: str = "children_0_4",
) -> pd.Series:
    """Enhanced two-step floating catchment area accessibility of each origin.

    Step 1, for each venue j: ``R_j = S_j / Σ_i P_i W(t_ij)``; step 2, for each origin i:
    ``A_i = Σ_j R_j W(t_ij)``, where ``W`` is the step weight of the band ``t_ij`` falls in (0 beyond
    the last band). Units: supply per child (e.g. sessions per week per child aged 0-4).

    Parameters
    ----------
    supply
        Venue id → supply (sessions per week or capacity); venues absent from the matrix are ignored.
    steps
        (upper bound in minutes, weight) pairs in increasing order.

    Returns
    -------
    pandas.Series
        Accessibility per origin, indexed by ``origin_id``.
    """
    _aligned_minutes(area, travel_times)
    bounds = np.array([bound for bound, _ in steps], dtype=float)
    step_weights = np.array([weight for _, weight in steps], dtype=float)
    if len(bounds) == 0 or np.any(np.diff(bounds) <= 0) or bounds[0] <= 0:
        msg = "E2SFCA steps must be positive, increasing minute bounds"
        raise InputError(msg, field="steps")
    position = {venue: index for index, venue in enumerate(travel_times.destination_ids)}
    venues = [venue for venue in supply.index if venue in position]
    if not venues:
        msg = "the venue set is empty: no venue with supply has travel times"
        raise InputError(msg, field="venues")
    minutes = np.asarray(travel_times.minutes)[:, [position[venue] for venue in venues]]
    band = np.searchsorted(bounds, minutes, side="left")
    weights = np.where(band < len(bounds), step_weights[np.minimum(band, len(bounds) - 1)], 0.0)
    demand = area.children[population].to_numpy(dtype=float)
    weighted_demand = demand @ weights
    ratio = np.divide(
        supply.loc[venues].to_numpy(dtype=float),
        weighted_demand,
        out=np.zeros(len(venues)),
        where=weighted_demand > 0,
    )
    return pd.Series(weights @ ratio, index=area.children["origin_id"].to_numpy(), name="e2sfca")
