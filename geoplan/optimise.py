"""Choose sites for early-years services: maximal covering, p-median and capacitated coverage.

The classes follow spopt's ``spopt.locate`` style: build a model with ``from_cost_matrix(...)``
or ``from_study_area(...)``, call ``.solve()`` and read ``.selected``, ``.objective``,
``.coverage``, ``.gap`` and ``.status``. Every model is a mixed-integer programme solved
with HiGHS through :func:`scipy.optimize.milp`.

The number of sites ``k`` always counts the locked-in sites (existing centres that must stay),
as spopt's ``p_facilities`` counts its ``predefined_facilities_arr``.

Each model is shrunk before it reaches the solver without changing its optimum:

- demand points with identical rows (same reachable sites, same minutes) are merged and
  their weights summed, and demand already covered by a locked site becomes a constant;
- p-median first screens sites with a Lagrangian bound: a site is left out when every
  solution using it provably costs more than one already found, and kept open when every
  solution without it does. It then uses the radius formulation of Elloumi (2010, INFORMS
  J. Computing 22(2)), truncated per demand point. The truncated model prices a demand point at
  ``min(true minutes, radius)``, so its optimum is a lower bound; a solution whose demand
  points are all served within their radius is therefore optimal for the full model. Radii
  of points served further away are widened to the distance found and the model is solved
  again, until that holds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Self

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from geoplan import settings
from geoplan.solver import status_name
from geoplan.errors import InputError

if TYPE_CHECKING:
    import geopandas as gpd

    from geoplan.studyarea import StudyArea
    from geoplan.traveltime import TravelTimeMatrix

#: Venue kinds offered as candidate sites when none are named: existing early-years
#: buildings and the community venues the 2021 Bexley model used for sessions.
DEFAULT_CANDIDATE_KINDS: tuple[str, ...] = (
    "childrens_centre",
    "send_hub",
    "early_years_site",
    "library",
    "community_centre",
    "faith_hall",
    "leisure_centre",
)

#: Child-population column used as demand weight by default (children aged 0-4).
DEFAULT_AGE_COLUMN = "children_0_4"

#: IDACI deciles run from 1 (most deprived) to 10 (least deprived).
_LEAST_DEPRIVED_DECILE = 10
_DECILE_SPAN = 9

#: p-median: each demand point starts with a radius reaching this many times ``ceil(candidates / k)``
#: of its nearest sites. HiGHS time grows faster than the model, so the start is kept narrow; the
#: radii of points served further away are widened afterwards.
_INITIAL_RADIUS_FACTOR = 1

#: p-median screening: a swap is kept if it lowers the cost by more than this share.
_SWAP_IMPROVEMENT = 1e-12
#: p-median screening: a site is fixed only when the bound beats the best known cost by this share.
_SCREEN_TOLERANCE = 1e-9
#: p-median screening: subgradient iterations, starting step scale, halving after this many
#: iterations without a better bound, and the step scale at which to stop.
_SUBGRADIENT_ITERATIONS = 800
_SUBGRADIENT_START = 2.0
_SUBGRADIENT_PATIENCE = 20
_SUBGRADIENT_MIN_STEP = 1e-4

#: p-median: upper limit on re-solves after widening radii (each strictly widens at least one).
_MAX_RADIUS_ROUNDS = 50


@dataclass(frozen=True)
class CoverageSummary:
    """How much demand the chosen sites serve.

    Attributes
    ----------
    covered_weight
        Demand weight served (within ``max_minutes``; for capacitated coverage, within capacity).
    total_weight
        Demand weight of every demand point.
    share
        ``covered_weight / total_weight`` (0 when there is no demand).
    per_demand
        One row per demand point: ``demand_id``, ``weight``, ``facility_id`` (nearest chosen
        site, or for capacitated coverage the site serving most of it; ``None`` if none is
        reachable), ``minutes`` (to that site, ``inf`` if none) and ``covered_weight``.
    """

    covered_weight: float
    total_weight: float
    share: float
    per_demand: pd.DataFrame


class _LocationModel:
    """Shared data, validation and solver plumbing of the three models."""

    #: Whether the model needs ``max_minutes`` / ``capacities``.
    needs_max_minutes: ClassVar[bool] = True
    needs_capacities: ClassVar[bool] = False

    def __init__(
        self,
        *,
        cost: np.ndarray,
        weights: np.ndarray,
        k: int,
        max_minutes: float | None,
        facility_ids: list[str],
        demand_ids: list[str],
        locked: np.ndarray,
        capacities: np.ndarray | None,
        name: str,
        candidates: gpd.GeoDataFrame | None = None,
    ) -> None:
        self.cost = cost
        self.weights = weights
        self.k = k
        self.max_minutes = max_minutes
        self.facility_ids = facility_ids
        self.demand_ids = demand_ids
        self.locked = locked
        self.capacities = capacities
        self.name = name
        #: Candidate venues (one row per facility column) when built from a study area.
        self.candidates = candidates
        self.selected: list[str] = []
        self.objective: float = math.nan
        self.bound: float = math.nan
        self.gap: float = math.nan
        self.status: str = "not solved"
        self.coverage: CoverageSummary | None = None
        self.solve_seconds: float = math.nan
        self._dual_bound: float = math.nan
        self._open = np.zeros(len(facility_ids), dtype=bool)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_cost_matrix(
        cls,
        cost: np.ndarray,
        *,
        weights: np.ndarray | Sequence[float],
        k: int,
        max_minutes: float | None = None,
        facility_ids: Sequence[str] | None = None,
        demand_ids: Sequence[str] | None = None,
        locked: Iterable[str | int] = (),
        capacities: np.ndarray | Sequence[float] | None = None,
        name: str | None = None,
    ) -> Self:
        """Build a model from a demand × facility matrix of travel minutes.

        Parameters
        ----------
        cost
            Minutes from each demand point (rows) to each candidate site (columns);
            ``np.inf`` where a site is unreachable.
        weights
            Non-negative demand weight of each row (e.g. children aged 0-4).
        k
            Number of sites to choose, locked sites included.
        max_minutes
            Coverage standard: a site covers a demand point within this many minutes
            (required for coverage models; for p-median it only sets what ``.coverage``
            counts as covered).
        facility_ids, demand_ids
            Labels of columns and rows (default: their positions as strings).
        locked
            Sites that must stay open, as facility ids (or column positions when
            ``facility_ids`` is not given).
        capacities
            Demand weight each site can serve (capacitated coverage only).
        name
            Label of the model.
        """
        matrix = np.asarray(cost, dtype=float)
        if matrix.ndim != 2:  # noqa: PLR2004 - a matrix has two axes
            msg = f"cost matrix must be 2-dimensional (demand × facility), got shape {matrix.shape}"
            raise InputError(msg, field="cost")
        n_demand, n_facility = matrix.shape
        if n_facility == 0:
            msg = "candidate set is empty: no facility columns in the cost matrix"
            raise InputError(msg, field="cost")
        if np.isnan(matrix).any():
            row = int(np.argwhere(np.isnan(matrix))[0, 0])
            msg = "cost matrix holds NaN; use np.inf for unreachable pairs"
            raise InputError(msg, field="cost", row=row)
        if (matrix < 0).any():
            row = int(np.argwhere(matrix < 0)[0, 0])
            msg = "cost matrix holds negative minutes"
            raise InputError(msg, field="cost", row=row)

        demand_weights = np.asarray(weights, dtype=float).ravel()
        if demand_weights.shape != (n_demand,):
            msg = f"{demand_weights.size} weights for {n_demand} demand rows of the cost matrix"
            raise InputError(msg, field="weights")
        bad = ~np.isfinite(demand_weights) | (demand_weights < 0)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            msg = f"weights must be finite and non-negative, got {demand_weights[row]}"
            raise InputError(msg, field="weights", row=row)

        fac_ids = _labels(facility_ids, n_facility, "facility_ids")
        dem_ids = _labels(demand_ids, n_demand, "demand_ids")
        if len(set(fac_ids)) != len(fac_ids):
            msg = "facility ids are not unique"
            raise InputError(msg, field="facility_ids")

        locked_idx = _locked_positions(locked, fac_ids, by_position=facility_ids is None)

        if isinstance(k, bool) or int(k) != k:
            msg = f"k must be a whole number, got {k!r}"
            raise InputError(msg, field="k")
        k = int(k)
        if k < 1:
            msg = f"k must be at least 1, got {k}"
            raise InputError(msg, field="k")
        if k < locked_idx.size:
            msg = f"k={k} is fewer than the {locked_idx.size} locked sites"
            raise InputError(msg, field="k")
        if k > n_facility:
            msg = f"k={k} is more than the {n_facility} candidate sites"
            raise InputError(msg, field="k")

        if max_minutes is not None:
            max_minutes = float(max_minutes)
            if not max_minutes > 0:
                msg = f"minutes must be positive, got {max_minutes}"
                raise InputError(msg, field="max_minutes")
        elif cls.needs_max_minutes:
            msg = f"{cls.__name__} needs max_minutes (the coverage standard in minutes)"
            raise InputError(msg, field="max_minutes")

        caps = None
        if capacities is not None:
            caps = np.asarray(capacities, dtype=float).ravel()
            if caps.shape != (n_facility,):
                msg = f"{caps.size} capacities for {n_facility} facility columns"
                raise InputError(msg, field="capacities")
            bad = ~np.isfinite(caps) | (caps < 0)
            if bad.any():
                col = int(np.flatnonzero(bad)[0])
                msg = f"capacity of site {fac_ids[col]!r} must be finite and non-negative, got {caps[col]}"
                raise InputError(msg, field="capacities")
        elif cls.needs_capacities:
            msg = f"{cls.__name__} needs capacities (one per candidate site)"
            raise InputError(msg, field="capacities")

        return cls(
            cost=matrix,
            weights=demand_weights,
            k=k,
            max_minutes=max_minutes,
            facility_ids=fac_ids,
            demand_ids=dem_ids,
            locked=locked_idx,
            capacities=caps,
            name=name or cls.__name__,
        )

    @classmethod
    def from_study_area(
        cls,
        area: StudyArea,
        travel_times: TravelTimeMatrix | None = None,
        *,
        k: int,
        minutes: float | None = None,
        candidate_kinds: Iterable[str] = DEFAULT_CANDIDATE_KINDS,
        lock: Iterable[str] = (),
        deprivation_weight: float = 0.0,
        age_column: str = DEFAULT_AGE_COLUMN,
        capacities: Mapping[str, float] | float | None = None,
        name: str | None = None,
    ) -> Self:
        """Build a model for a study area: children's homes as demand, located venues as sites.

        Parameters
        ----------
        area
            The study area (:func:`geoplan.studyarea.load_study_area`).
        travel_times
            Minutes from ``area.children`` to located ``area.venues``; computed with
            :func:`geoplan.traveltime.study_area_travel_times` when not given.
        k
            Number of sites, locked ones included.
        minutes
            Coverage standard in minutes (``max_minutes`` of :meth:`from_cost_matrix`).
        candidate_kinds
            Venue kinds that may be chosen; locked venues are candidates whatever their kind.
        lock
            Venue ids that must stay open.
        deprivation_weight
            Extra weight for deprived areas: a child counts
            ``1 + deprivation_weight * (10 - idaci_decile) / 9`` times, so a child in the
            most deprived decile counts ``1 + deprivation_weight`` and one in the least
            deprived decile counts once.
        age_column
            Column of ``area.children`` giving the number of children (``children_0_4``,
            ``under_3`` or ``under_2``).
        capacities
            Capacitated coverage only: children each site can serve, as one number for
            every site or a mapping venue id → capacity. Default: the sum of session
            capacities recorded for the venue in ``area.sessions``.
        name
            Label of the model (default: class name and area name).
        """
        children, venues = area.children, area.venues
        for label, frame in (("children", children), ("venues", venues)):
            if frame.crs is None or not frame.crs.equals(settings.measure_crs):
                msg = f"study area {label} must be in {settings.measure_crs}, got {frame.crs}"
                raise InputError(msg, field=label)
        if age_column not in children.columns:
            msg = f"study area children have no column {age_column!r}"
            raise InputError(msg, field="age_column")
        if not deprivation_weight >= 0:
            msg = f"deprivation_weight must be non-negative, got {deprivation_weight}"
            raise InputError(msg, field="deprivation_weight")

        located = venues[venues["located"].astype(bool)].set_index("venue_id", drop=False)
        lock = list(dict.fromkeys(lock))
        for venue_id in lock:
            if venue_id not in set(venues["venue_id"]):
                msg = f"locked venue {venue_id!r} is not a venue of {area.name}"
                raise InputError(msg, field="lock")
            if venue_id not in located.index:
                msg = f"locked venue {venue_id!r} has no location"
                raise InputError(msg, field="lock")
        kinds = set(candidate_kinds)
        unknown = kinds - set(venues["kind"])
        if unknown:
            msg = f"no venue of kind {sorted(unknown)[0]!r} in {area.name} (kinds: {', '.join(sorted(set(venues['kind'])))})"
            raise InputError(msg, field="candidate_kinds")
        wanted = located["kind"].isin(kinds) | located["venue_id"].isin(lock)
        sites = located[wanted]
        if sites.empty:
            msg = f"candidate set is empty: no located venue of kinds {sorted(kinds)} in {area.name}"
            raise InputError(msg, field="candidate_kinds")

        if travel_times is None:
            from geoplan.traveltime import study_area_travel_times

            travel_times = study_area_travel_times(area)
        cost = _align_matrix(travel_times, children["origin_id"].astype(str), sites["venue_id"].astype(str))

        decile = pd.to_numeric(children["idaci_decile"], errors="coerce").to_numpy(dtype=float)
        demand = pd.to_numeric(children[age_column], errors="coerce").to_numpy(dtype=float)
        if deprivation_weight:
            if np.isnan(decile).any():
                row = children["origin_id"].iloc[int(np.flatnonzero(np.isnan(decile))[0])]
                msg = "children origin has no IDACI decile, needed for deprivation_weight"
                raise InputError(msg, field="idaci_decile", row=row)
            demand = demand * (1 + deprivation_weight * (_LEAST_DEPRIVED_DECILE - decile) / _DECILE_SPAN)
        if np.isnan(demand).any():
            row = children["origin_id"].iloc[int(np.flatnonzero(np.isnan(demand))[0])]
            msg = "children origin has no child count"
            raise InputError(msg, field=age_column, row=row)

        site_capacities = None
        if cls.needs_capacities:
            site_capacities = _site_capacities(capacities, sites["venue_id"], area.sessions)

        model = cls.from_cost_matrix(
            cost,
            weights=demand,
            k=k,
            max_minutes=minutes,
            facility_ids=list(sites["venue_id"].astype(str)),
            demand_ids=list(children["origin_id"].astype(str)),
            locked=lock,
            capacities=site_capacities,
            name=name or f"{cls.__name__} ({area.name})",
        )
        model.candidates = sites.reset_index(drop=True)
        return model

    # ------------------------------------------------------------------ solving
    def solve(self, *, time_limit_s: float | None = None, mip_rel_gap: float = 0.0) -> Self:
        """Solve the model with HiGHS and return it with the results filled in.

        Parameters
        ----------
        time_limit_s
            Stop after this many seconds with the best solution found (``status`` is then
            ``"time_limit"`` and ``gap`` tells how far from proven it is).
        mip_rel_gap
            Relative optimality gap at which HiGHS may stop (0 = prove optimality).
        """
        if time_limit_s is not None and not time_limit_s > 0:
            msg = f"time_limit_s must be positive, got {time_limit_s}"
            raise InputError(msg, field="time_limit_s")
        if not mip_rel_gap >= 0:
            msg = f"mip_rel_gap must be non-negative, got {mip_rel_gap}"
            raise InputError(msg, field="mip_rel_gap")
        options: dict[str, object] = {"disp": False, "mip_rel_gap": float(mip_rel_gap)}
        if time_limit_s is not None:
            options["time_limit"] = float(time_limit_s)
        started = time.perf_counter()
        self._solve(options)
        self.solve_seconds = time.perf_counter() - started
        self.selected = [self.facility_ids[j] for j in np.flatnonzero(self._open)]
        self.coverage = self._coverage()
        return self

    def _solve(self, options: dict[str, object]) -> None:
        raise NotImplementedError

    def _run_milp(
        self,
        c: np.ndarray,
        rows: sparse.spmatrix,
        lower: np.ndarray,
        upper: np.ndarray,
        *,
        n_binary: int,
        options: dict[str, object],
        upper_bounds: np.ndarray | None = None,
        locked: np.ndarray | None = None,
    ) -> np.ndarray:
        """Solve ``min c·v`` with the first ``n_binary`` variables (the sites) binary.

        Adds ``sum(sites) == k`` and fixes the locked sites (default ``self.locked``) open;
        returns the variable values.
        """
        n_var = c.size
        site_row = sparse.csr_array((np.ones(n_binary), (np.zeros(n_binary, dtype=int), np.arange(n_binary))), shape=(1, n_var))
        matrix = sparse.vstack([rows, site_row], format="csr")
        lb = np.zeros(n_var)
        lb[self.locked if locked is None else locked] = 1.0
        ub = np.ones(n_var) if upper_bounds is None else upper_bounds
        integrality = np.zeros(n_var)
        integrality[:n_binary] = 1
        result = milp(
            c,
            constraints=LinearConstraint(matrix, np.append(lower, self.k), np.append(upper, self.k)),
            bounds=Bounds(lb, ub),
            integrality=integrality,
            options=options,
        )
        self.status = status_name(result.status)
        if result.x is None:
            if self.status == "infeasible":
                msg = f"{self.name}: no choice of k={self.k} sites serves every demand point that can reach a site; raise k or the travel-time cutoff"
                raise InputError(msg, field="k")
            msg = f"{self.name}: HiGHS found no solution ({result.message.strip()}); raise time_limit_s"
            raise InputError(msg, field="time_limit_s")
        self.gap = float(getattr(result, "mip_gap", 0.0) or 0.0)
        dual_bound = getattr(result, "mip_dual_bound", None)
        self._dual_bound = float(result.fun if dual_bound is None else dual_bound)
        self._open = np.round(result.x[:n_binary]).astype(bool)
        return result.x

    # ------------------------------------------------------------------ reporting
    def _nearest_open(self) -> tuple[np.ndarray, np.ndarray]:
        """Nearest open site of every demand point (column index, minutes; -1/inf if none)."""
        cols = np.flatnonzero(self._open)
        sub = self.cost[:, cols]
        best = np.argmin(sub, axis=1)
        minutes = sub[np.arange(sub.shape[0]), best]
        facility = np.where(np.isfinite(minutes), cols[best], -1)
        return facility, minutes

    def _coverage(self) -> CoverageSummary:
        facility, minutes = self._nearest_open()
        covered = self._covered_weights(facility, minutes)
        return _summary(self, facility, minutes, covered)

    def _covered_weights(self, facility: np.ndarray, minutes: np.ndarray) -> np.ndarray:
        limit = np.inf if self.max_minutes is None else self.max_minutes
        return np.where(np.isfinite(minutes) & (minutes <= limit), self.weights, 0.0)

    def _served_by_site(self) -> pd.Series:
        return self.coverage.per_demand.groupby("facility_id")["covered_weight"].sum()

    def to_dict(self) -> dict[str, object]:
        """Results as plain data: chosen sites with the weight each serves, objective and gap."""
        if self.coverage is None:
            msg = f"{self.name} has not been solved; call .solve() first"
            raise InputError(msg)
        served = self._served_by_site()
        info = self.candidates.set_index("venue_id") if self.candidates is not None else None
        locked = {self.facility_ids[j] for j in self.locked}
        sites = []
        for site in self.selected:
            entry: dict[str, object] = {"facility_id": site, "locked": site in locked, "covered_weight": float(served.get(site, 0.0))}
            if info is not None:
                entry |= {"name": info.at[site, "name"], "kind": info.at[site, "kind"]}
            sites.append(entry)
        return {
            "model": type(self).__name__,
            "name": self.name,
            "k": self.k,
            "max_minutes": self.max_minutes,
            "status": self.status,
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "solve_seconds": self.solve_seconds,
            "covered_weight": self.coverage.covered_weight,
            "total_weight": self.coverage.total_weight,
            "share": self.coverage.share,
            "selected": sites,
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} k={self.k} status={self.status} objective={self.objective}>"


class MaximalCovering(_LocationModel):
    """Maximal covering location problem (Church & ReVelle 1974): choose ``k`` sites to
    maximise the demand weight within ``max_minutes`` of a chosen site.

    ``objective`` is the covered weight, equal to spopt's ``MCLP`` objective.
    """

    def _solve(self, options: dict[str, object]) -> None:
        reach = self.cost <= self.max_minutes
        by_locked = reach[:, self.locked].any(axis=1)
        base = float(self.weights[by_locked].sum())
        open_rows = ~by_locked & reach.any(axis=1) & (self.weights > 0)
        groups, group_weight = _merge_rows(reach[open_rows], self.weights[open_rows])
        n_fac, n_grp = reach.shape[1], groups.shape[0]
        # y_g - sum_{j covers g} x_j <= 0
        g_idx, f_idx = np.nonzero(groups)
        rows = sparse.csr_array(
            (
                np.concatenate([np.ones(n_grp), -np.ones(g_idx.size)]),
                (np.concatenate([np.arange(n_grp), g_idx]), np.concatenate([n_fac + np.arange(n_grp), f_idx])),
            ),
            shape=(n_grp, n_fac + n_grp),
        )
        c = np.concatenate([np.zeros(n_fac), -group_weight])
        self._run_milp(c, rows, np.full(n_grp, -np.inf), np.zeros(n_grp), n_binary=n_fac, options=options)
        self.objective = float(self.weights[reach[:, self._open].any(axis=1)].sum())
        self.bound = base - self._dual_bound


class PMedian(_LocationModel):
    """p-median problem (Hakimi 1964; ReVelle & Swain 1970): choose ``k`` sites to minimise
    the total weighted minutes from each demand point to its nearest chosen site.

    ``objective`` is the sum of weight × minutes, equal to spopt's ``PMedian`` objective.
    Demand points that reach no candidate at all are left out of the objective and reported
    as not covered; ``max_minutes``, if given, is the standard ``.coverage`` reports against.
    """

    needs_max_minutes: ClassVar[bool] = False

    def _solve(self, options: dict[str, object]) -> None:
        cost = self.cost
        reachable = np.isfinite(cost).any(axis=1) & (self.weights > 0)
        rows, weight = _merge_rows(cost[reachable], self.weights[reachable])
        keep, must_open, incumbent = _lagrangian_screen(rows, weight, self.k, self.locked)
        columns = np.flatnonzero(keep)
        locked = np.flatnonzero(np.isin(columns, np.union1d(self.locked, must_open)))
        rows = rows[:, columns]
        order = np.argsort(rows, axis=1, kind="stable")
        ranked = np.take_along_axis(rows, order, axis=1)
        n_dem, n_fac = rows.shape
        finite_count = np.isfinite(ranked).sum(axis=1)
        # The radius at which the full model's cost is certain to be reached: the nearest
        # locked site, or the (n - k + 1)-th nearest site (one of those is always open).
        exact = np.full(n_dem, np.inf)
        if locked.size:
            exact = rows[:, locked].min(axis=1)
        exact = np.minimum(exact, ranked[:, n_fac - self.k])
        last_finite = ranked[np.arange(n_dem), finite_count - 1]
        exact = np.minimum(exact, last_finite)
        start = min(n_fac, _INITIAL_RADIUS_FACTOR * math.ceil(n_fac / self.k))
        radius = ranked[np.arange(n_dem), np.minimum(start, finite_count) - 1]
        if incumbent.size:
            # price the best known solution exactly, so it is usually proven in one solve
            radius = np.maximum(radius, rows[:, np.isin(columns, incumbent)].min(axis=1))
        radius = np.minimum(radius, exact)
        deadline = time.perf_counter() + float(options["time_limit"]) if "time_limit" in options else None
        for _ in range(_MAX_RADIUS_ROUNDS):
            remaining = {} if deadline is None else {"time_limit": max(deadline - time.perf_counter(), 0.0)}
            self._solve_truncated(rows, weight, radius, last_finite, locked, options | remaining)
            served = np.where(self._open, rows, np.inf).min(axis=1)
            short = served > radius
            if not short.any():
                break
            radius = np.where(short, np.minimum(served, last_finite), radius)
            if deadline is not None and time.perf_counter() >= deadline:
                # the truncated optimum is still a valid lower bound on the full model
                self.status = "time_limit"
                break
        else:  # pragma: no cover - each round widens a radius to a level it had not reached
            msg = f"{self.name}: radius refinement did not converge"
            raise InputError(msg)
        self._open = np.isin(np.arange(cost.shape[1]), columns[self._open])
        self.objective = _weighted_minutes(cost, self.weights, self._open)
        self.bound = self._dual_bound
        if short.any():
            self.gap = (self.objective - self.bound) / max(abs(self.objective), np.finfo(float).tiny)

    def _solve_truncated(
        self,
        rows: np.ndarray,
        weight: np.ndarray,
        radius: np.ndarray,
        last_finite: np.ndarray,
        locked: np.ndarray,
        options: dict[str, object],
    ) -> None:
        """Solve the radius formulation with every demand point priced at most at its radius.

        Levels ``D_1 < … < D_L = radius`` are the distinct minutes up to the radius; ``z_l``
        is 1 when no chosen site lies within ``D_l``: ``z_1 + Σ_{d=D_1} x ≥ 1`` and
        ``z_l - z_{l-1} + Σ_{d=D_l} x ≥ 0``. Where the radius is the farthest reachable
        site, ``z_L = 0`` forces one reachable site open.
        """
        n_dem, n_fac = rows.shape
        constant = 0.0
        c_parts: list[np.ndarray] = [np.zeros(n_fac)]
        r_idx: list[np.ndarray] = []
        v_idx: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        lower: list[np.ndarray] = []
        n_var, n_row = n_fac, 0
        for i in range(n_dem):
            within = np.flatnonzero(rows[i] <= radius[i])
            levels, level_of = np.unique(rows[i, within], return_inverse=True)
            constant += weight[i] * levels[0]
            n_z = levels.size - 1
            n_con = n_z + 1 if radius[i] >= last_finite[i] else n_z
            if n_con == 0:
                continue
            c_parts.append(weight[i] * np.diff(levels))
            z = n_var + np.arange(n_z)
            keep = level_of < n_con
            # + x_j in the row of its level, + z_l in row l, - z_{l-1} in row l
            r_idx.extend([n_row + level_of[keep], n_row + np.arange(n_z), n_row + 1 + np.arange(n_con - 1)])
            v_idx.extend([within[keep], z, z[: n_con - 1]])
            vals.extend([np.ones(int(keep.sum())), np.ones(n_z), -np.ones(n_con - 1)])
            bound = np.zeros(n_con)
            bound[0] = 1.0
            lower.append(bound)
            n_var += n_z
            n_row += n_con
        c = np.concatenate(c_parts)
        matrix = sparse.csr_array(
            (_join(vals, float), (_join(r_idx, int), _join(v_idx, int))),
            shape=(n_row, n_var),
        )
        self._run_milp(c, matrix, _join(lower, float), np.full(n_row, np.inf), n_binary=n_fac, options=options, locked=locked)
        self._dual_bound += constant


class CapacitatedCoverage(_LocationModel):
    """Capacitated maximal covering: choose ``k`` sites to maximise the demand weight served
    within ``max_minutes``, where each site serves at most its capacity and a demand point
    may be split between sites.

    ``objective`` is the weight served.
    """

    needs_capacities: ClassVar[bool] = True

    def _solve(self, options: dict[str, object]) -> None:
        reach = self.cost <= self.max_minutes
        useful = reach.any(axis=1) & (self.weights > 0)
        groups, inverse = np.unique(reach[useful], axis=0, return_inverse=True)
        inverse = inverse.ravel()
        self._group_weight = np.bincount(inverse, weights=self.weights[useful], minlength=groups.shape[0])
        self._group_of = np.full(self.cost.shape[0], -1)
        self._group_of[useful] = inverse
        n_fac, n_grp = reach.shape[1], groups.shape[0]
        g_idx, f_idx = np.nonzero(groups)
        self._pairs = (g_idx, f_idx)
        n_pair = g_idx.size
        flow = n_fac + np.arange(n_pair)
        pair_rows = n_grp + n_fac + np.arange(n_pair)
        # demand Σ_j a_gj ≤ W_g; capacity Σ_g a_gj - cap_j x_j ≤ 0; the link a_gj ≤ min(W_g, cap_j) x_j
        # is implied by the others but tightens the LP relaxation a great deal.
        link = np.minimum(self._group_weight[g_idx], self.capacities[f_idx])
        rows = sparse.csr_array(
            (
                np.concatenate([np.ones(n_pair), np.ones(n_pair), -self.capacities, np.ones(n_pair), -link]),
                (
                    np.concatenate([g_idx, n_grp + f_idx, n_grp + np.arange(n_fac), pair_rows, pair_rows]),
                    np.concatenate([flow, flow, np.arange(n_fac), flow, f_idx]),
                ),
            ),
            shape=(n_grp + n_fac + n_pair, n_fac + n_pair),
        )
        upper = np.concatenate([self._group_weight, np.zeros(n_fac + n_pair)])
        var_upper = np.concatenate([np.ones(n_fac), np.full(n_pair, np.inf)])
        c = np.concatenate([np.zeros(n_fac), -np.ones(n_pair)])
        values = self._run_milp(
            c, rows, np.full(rows.shape[0], -np.inf), upper, n_binary=n_fac, options=options, upper_bounds=var_upper
        )
        self._flow = values[n_fac:]
        self.objective = float(self._flow.sum())
        self.bound = -self._dual_bound

    def _covered_weights(self, facility: np.ndarray, minutes: np.ndarray) -> np.ndarray:
        g_idx, _ = self._pairs
        served = np.bincount(g_idx, weights=self._flow, minlength=self._group_weight.size).astype(float)
        share = np.divide(served, self._group_weight, out=np.zeros(served.shape), where=self._group_weight > 0)
        covered = np.zeros(self.cost.shape[0])
        member = self._group_of >= 0
        covered[member] = self.weights[member] * share[self._group_of[member]]
        return covered

    def _served_by_site(self) -> pd.Series:
        _, f_idx = self._pairs
        flows = np.bincount(f_idx, weights=self._flow, minlength=len(self.facility_ids)).astype(float)
        return pd.Series(flows, index=self.facility_ids)

    def _coverage(self) -> CoverageSummary:
        g_idx, f_idx = self._pairs
        # the site serving most of each group, else the nearest open one
        facility, minutes = self._nearest_open()
        order = np.lexsort((-self._flow, g_idx))
        main = {}
        for pair in order:
            if self._flow[pair] > 0 and g_idx[pair] not in main:
                main[g_idx[pair]] = f_idx[pair]
        for i in np.flatnonzero(self._group_of >= 0):
            j = main.get(self._group_of[i])
            if j is not None:
                facility[i], minutes[i] = j, self.cost[i, j]
        covered = self._covered_weights(facility, minutes)
        return _summary(self, facility, minutes, covered)


# ---------------------------------------------------------------------- helpers
def _labels(ids: Sequence[str] | None, n: int, field: str) -> list[str]:
    if ids is None:
        return [str(i) for i in range(n)]
    labels = [str(i) for i in ids]
    if len(labels) != n:
        msg = f"{len(labels)} {field} for {n} cost-matrix {'columns' if field.startswith('facility') else 'rows'}"
        raise InputError(msg, field=field)
    return labels


def _locked_positions(locked: Iterable[str | int], fac_ids: list[str], *, by_position: bool) -> np.ndarray:
    position = {fid: j for j, fid in enumerate(fac_ids)}
    out: list[int] = []
    for item in locked:
        key = str(item)
        if key not in position:
            what = "column position" if by_position else "facility id"
            msg = f"locked site {item!r} is not a candidate {what}"
            raise InputError(msg, field="locked")
        out.append(position[key])
    return np.array(sorted(set(out)), dtype=int)


def _merge_rows(rows: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge identical rows, summing their weights."""
    unique, inverse = np.unique(rows, axis=0, return_inverse=True)
    return unique, np.bincount(inverse.ravel(), weights=weights, minlength=unique.shape[0])


def _nearest_cost(weighted: np.ndarray, sites: np.ndarray) -> float:
    return float(weighted[:, sites].min(axis=1).sum())


def _local_search(weighted: np.ndarray, k: int, locked: np.ndarray) -> np.ndarray:
    """Greedy then swap-improved sites for the p-median: an upper bound for screening."""
    chosen = list(locked)
    best = weighted[:, locked].min(axis=1) if locked.size else np.full(weighted.shape[0], np.inf)
    while len(chosen) < k:
        totals = np.minimum(best[:, None], weighted).sum(axis=0)
        totals[chosen] = np.inf
        pick = int(np.argmin(totals))
        chosen.append(pick)
        best = np.minimum(best, weighted[:, pick])
    sites = np.array(chosen)
    value = _nearest_cost(weighted, sites)
    improved = True
    while improved:
        improved = False
        for position in range(locked.size, k):
            others = np.delete(sites, position)
            rest = weighted[:, others].min(axis=1) if others.size else np.full(weighted.shape[0], np.inf)
            totals = np.minimum(rest[:, None], weighted).sum(axis=0)
            totals[others] = np.inf
            pick = int(np.argmin(totals))
            if totals[pick] < value * (1 - _SWAP_IMPROVEMENT):
                sites[position], value, improved = pick, float(totals[pick]), True
    return sites


def _lagrangian_screen(
    rows: np.ndarray, weight: np.ndarray, k: int, locked: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sites that can be left out of, or must be in, every optimal p-median solution.

    Relaxing "each demand point is served once" with multipliers ``λ`` (Cornuéjols, Fisher &
    Nemhauser 1977) gives the lower bound ``Σλ + Σ_{k cheapest} ρ_j`` with
    ``ρ_j = Σ_i min(0, w_i d_ij - λ_i)``. Forcing a site in (or out) raises it by a known
    amount; where the raised bound exceeds a known solution's cost, no optimum has that site
    in (or out), so it is fixed. ``λ`` is improved by subgradient steps (Held, Wolfe & Crowder 1974).

    Returns the mask of sites kept, the positions of sites found to be always open and the
    best solution found (empty when there is nothing to choose or none serves every point).
    """
    n_dem, n_fac = rows.shape
    keep = np.ones(n_fac, dtype=bool)
    must_open = np.zeros(n_fac, dtype=bool)
    free_count = k - locked.size
    none = np.zeros(0, dtype=int)
    if n_dem == 0 or free_count == 0:
        return keep, none, none
    weighted = weight[:, None] * rows
    incumbent = _local_search(weighted, k, locked)
    upper = _nearest_cost(weighted, incumbent)
    if not np.isfinite(upper):
        return keep, none, none
    tolerance = _SCREEN_TOLERANCE * max(1.0, abs(upper))
    is_free = np.ones(n_fac, dtype=bool)
    is_free[locked] = False
    multipliers = np.min(weighted, axis=1)
    step_scale, best_bound, stalled = _SUBGRADIENT_START, -np.inf, 0
    reduced = np.empty_like(weighted)
    for _ in range(_SUBGRADIENT_ITERATIONS):
        np.subtract(weighted, multipliers[:, None], out=reduced)
        np.minimum(reduced, 0.0, out=reduced)
        rho = reduced.sum(axis=0)
        free = np.flatnonzero(is_free)
        ranked = free[np.argsort(rho[free], kind="stable")]
        chosen = np.concatenate([locked, ranked[:free_count]])
        bound = multipliers.sum() + rho[chosen].sum()
        last_in = rho[ranked[free_count - 1]]
        first_out = rho[ranked[free_count]] if ranked.size > free_count else np.inf
        outside = ranked[free_count:]
        keep[outside[bound + rho[outside] - last_in > upper + tolerance]] = False
        inside = ranked[:free_count]
        must_open[inside[bound - rho[inside] + first_out > upper + tolerance]] = True
        if bound > best_bound + tolerance:
            best_bound, stalled = bound, 0
        else:
            stalled += 1
            if stalled >= _SUBGRADIENT_PATIENCE:
                step_scale, stalled = step_scale / 2, 0
        value = _nearest_cost(weighted, chosen)
        if value < upper:
            upper, incumbent = value, chosen
        served = (reduced[:, chosen] < 0).sum(axis=1)
        subgradient = 1.0 - served
        norm = float(subgradient @ subgradient)
        settled = keep.sum() == k
        if settled or norm == 0 or upper - best_bound <= tolerance or step_scale < _SUBGRADIENT_MIN_STEP:
            break
        multipliers = multipliers + step_scale * (upper - bound) / norm * subgradient
    return keep, np.flatnonzero(must_open & keep), incumbent


def _join(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def _weighted_minutes(cost: np.ndarray, weights: np.ndarray, open_sites: np.ndarray) -> float:
    nearest = cost[:, open_sites].min(axis=1)
    reachable = np.isfinite(nearest)
    return float((weights[reachable] * nearest[reachable]).sum())


def _summary(model: _LocationModel, facility: np.ndarray, minutes: np.ndarray, covered: np.ndarray) -> CoverageSummary:
    ids = np.array(model.facility_ids, dtype=object)
    per_demand = pd.DataFrame(
        {
            "demand_id": model.demand_ids,
            "weight": model.weights,
            "facility_id": np.where(facility >= 0, ids[np.maximum(facility, 0)], None),
            "minutes": minutes,
            "covered_weight": covered,
        }
    )
    total = float(model.weights.sum())
    covered_weight = float(covered.sum())
    return CoverageSummary(
        covered_weight=covered_weight,
        total_weight=total,
        share=covered_weight / total if total > 0 else 0.0,
        per_demand=per_demand,
    )


def _align_matrix(travel_times: TravelTimeMatrix, origin_ids: pd.Series, site_ids: pd.Series) -> np.ndarray:
    """Reorder a travel-time matrix to the study area's children (rows) and candidate sites."""
    minutes = np.asarray(travel_times.minutes, dtype=float)
    origins = [str(o) for o in travel_times.origin_ids]
    destinations = [str(d) for d in travel_times.destination_ids]
    if minutes.shape != (len(origins), len(destinations)):
        msg = f"travel-time matrix has shape {minutes.shape} for {len(origins)} origins × {len(destinations)} destinations"
        raise InputError(msg, field="minutes")
    row_of = {o: i for i, o in enumerate(origins)}
    col_of = {d: j for j, d in enumerate(destinations)}
    missing_row = next((o for o in origin_ids if o not in row_of), None)
    if missing_row is not None:
        msg = "children origin is not a row of the travel-time matrix (was it built for another study area?)"
        raise InputError(msg, field="origin_ids", row=missing_row)
    missing_col = next((s for s in site_ids if s not in col_of), None)
    if missing_col is not None:
        msg = f"venue {missing_col!r} is not a destination of the travel-time matrix"
        raise InputError(msg, field="destination_ids")
    return minutes[np.ix_([row_of[o] for o in origin_ids], [col_of[s] for s in site_ids])]


def _site_capacities(capacities: Mapping[str, float] | float | None, site_ids: pd.Series, sessions: pd.DataFrame) -> np.ndarray:
    """Capacity of each candidate site: given, or summed from the sessions held there."""
    if capacities is None:
        known = sessions.dropna(subset=["capacity"])
        per_venue = known.groupby("venue_id")["capacity"].sum()
        missing = [s for s in site_ids if s not in per_venue.index]
        if missing:
            msg = f"no session capacity recorded for candidate venue {missing[0]!r} ({len(missing)} venues lack one); pass capacities (CLI: --capacity)"
            raise InputError(msg, field="capacity")
        return per_venue.reindex(site_ids).to_numpy(dtype=float)
    if isinstance(capacities, Mapping):
        missing = [s for s in site_ids if s not in capacities]
        if missing:
            msg = f"no capacity given for candidate venue {missing[0]!r}"
            raise InputError(msg, field="capacities")
        return np.array([float(capacities[s]) for s in site_ids])
    return np.full(len(site_ids), float(capacities))
