"""p-median (Hakimi 1964; ReVelle & Swain 1970): the least total weighted minutes to the nearest chosen site.

The solve has three stages, all inside one time limit:

1. **Lagrangian screen.** Relaxing "each demand point is served once" with multipliers ``λ``
   (Cornuéjols, Fisher & Nemhauser 1977) gives the lower bound ``Σλ + Σ_{k cheapest} ρ_j`` with
   ``ρ_j = Σ_i min(0, w_i d_ij - λ_i)``, improved by subgradient steps (Held, Wolfe & Crowder
   1974). Forcing a site in (or out) raises the bound by a known amount; where the raised bound
   exceeds the cost of a known solution (greedy, swaps, and each step's Lagrangian choice), no
   optimum has that site in (or out), so it is dropped (or fixed open).
2. **Benders cuts from the radius formulation.** The radius formulation (Elloumi 2010; García,
   Labbé & Marín 2011) prices demand point ``i`` through the levels ``D`` of its sorted minutes;
   projected onto the site variables it becomes ``θ_i ≥ D - Σ_j max(0, D - d_ij) y_j`` for every
   level ``D`` (Duran-Mateluna, Ales & Elloumi 2023). The master problem keeps one ``θ_i`` per
   demand point and only the cuts needed: first those at each point's nearest sites, the best
   solution's minutes and ``λ_i / w_i`` (which alone give back the Lagrangian bound), then, over
   the linear relaxation, the most violated cut of each point (the level where the open share of
   its nearest sites reaches 1), until none is violated. The master stays one row per cut, where
   the radius model needs a row and a variable per level of every point.
3. **Integer rounds.** The master is solved with binary sites; each point whose ``θ_i`` is below
   its true minutes to the chosen sites gets the cut at those minutes, and the master is solved
   again, until its optimum (a lower bound) meets the best solution's cost.

One time limit covers all three stages; when it runs out the best solution is kept and
``gap`` is measured against the best bound of any stage.

Where it stops scaling (2 shared cores; ``bench/bench_optimise.py``): Bexley's 4.4k × 48 is
proven in under a second and 5k × 100 with k = 20 in 3-6 s, but at 20k × 300 with k = 20 the
screen and bound reach 0.05% in about 3 minutes and the last 0.05% is not proven within 15: each
HiGHS solve of a master with 20k ``θ_i`` takes 30-110 s, and :func:`scipy.optimize.milp` cannot
warm-start one round from the last. Memory is a few dense demand × site arrays (8 bytes a pair).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from geoplan.errors import InputError
from geoplan.optimise.base import LocationModel, merge_rows
from geoplan.solver import status_name

#: Screening: a swap is kept if it lowers the cost by more than this share.
_SWAP_IMPROVEMENT = 1e-12
#: Screening: a site is fixed only when the bound beats the best known cost by this share.
_SCREEN_TOLERANCE = 1e-9
#: Screening: subgradient iterations, starting step scale, halving after this many iterations
#: without a better bound, and the step scale at which to stop.
_SUBGRADIENT_ITERATIONS = 800
_SUBGRADIENT_START = 2.0
_SUBGRADIENT_PATIENCE = 20
_SUBGRADIENT_MIN_STEP = 1e-4

#: Cuts added up front at the minutes of each point's nearest sites (beyond the nearest itself).
_NEAREST_LEVELS = 2
#: A cut counts as violated when it exceeds ``θ_i`` by this share of its level (or minute).
_CUT_TOLERANCE = 1e-7
#: The linear rounds stop when a round closes less than this share of the gap left
#: (the relaxation's own gap is closed by the integer rounds).
_LP_STALL = 0.05
#: Upper limits on linear and integer rounds (each adds at least one violated cut).
_MAX_LP_ROUNDS = 100
_MAX_INTEGER_ROUNDS = 200
#: Bound and cost equal within this share count as proven optimal.
_OPTIMALITY_TOLERANCE = 1e-9

#: Seconds left of the solve's time limit (``None``: no limit).
Clock = Callable[[], float | None]


class PMedian(LocationModel):
    """Choose ``k`` sites to minimise the total weighted minutes from each demand point to its
    nearest chosen site.

    ``objective`` is the sum of weight × minutes, equal to spopt's ``PMedian`` objective;
    ``bound`` is a proven lower bound and ``gap = (objective - bound) / objective``.
    Demand points that reach no candidate at all are left out of the objective and reported
    as not covered; ``max_minutes``, if given, is the standard ``.coverage`` reports against.
    """

    needs_max_minutes: ClassVar[bool] = False

    def _solve(self, options: dict[str, object]) -> None:
        problem = self.problem
        reachable = np.isfinite(problem.cost).any(axis=1) & (problem.weights > 0)
        rows, weight = merge_rows(problem.cost[reachable], problem.weights[reachable])
        screen = _LagrangianScreen(rows, weight, problem.k, problem.locked, seconds_left=self._seconds_left)
        screen.run()
        self.status = "optimal"
        if screen.incumbent.size == 0:
            # nothing to choose (every site locked, or no demand), or no greedy choice reaches every point
            self._solve_master_only(rows, weight, options)
        else:
            self._solve_benders(rows, weight, screen, options)
        self.objective = _weighted_minutes(problem.cost, problem.weights, self._open)
        self.gap = max(self.objective - self.bound, 0.0) / max(abs(self.objective), np.finfo(float).tiny)
        if self.gap <= _OPTIMALITY_TOLERANCE:
            self.gap = 0.0
        elif self.gap > float(options.get("mip_rel_gap", 0.0)):
            # not proven within the asked gap: the clock stopped some stage
            self.status = "time_limit"

    def _solve_master_only(self, rows: np.ndarray, weight: np.ndarray, options: dict[str, object]) -> None:
        master = _Master(rows, weight, self.problem.k, self.problem.locked)
        master.add_nearest_cuts()
        lower, chosen, upper, self.status = master.integer_rounds(
            np.inf, np.zeros(0, dtype=int), name=self.name, seconds_left=self._seconds_left, options=options
        )
        self._open = _mask(chosen, rows.shape[1])
        self.bound = lower if np.isfinite(upper) else upper

    def _solve_benders(
        self, rows: np.ndarray, weight: np.ndarray, screen: _LagrangianScreen, options: dict[str, object]
    ) -> None:
        n_fac = rows.shape[1]
        upper, incumbent = screen.upper, screen.incumbent
        lower = screen.bound
        if upper - lower > _OPTIMALITY_TOLERANCE * max(1.0, abs(upper)) and self._seconds_left() != 0:
            columns = np.flatnonzero(screen.keep)
            fixed = np.flatnonzero(np.isin(columns, np.union1d(self.problem.locked, screen.must_open)))
            master = _Master(rows[:, columns], weight, self.problem.k, fixed)
            master.add_nearest_cuts()
            master.add_cuts(np.arange(rows.shape[0]), np.min(rows[:, incumbent], axis=1))
            master.add_cuts(np.arange(rows.shape[0]), screen.multipliers / weight)
            inside = np.flatnonzero(np.isin(columns, incumbent))
            lp_bound, timed_out = master.linear_rounds(upper, self._seconds_left)
            lower = max(lower, lp_bound)
            if not timed_out and upper - lower > _OPTIMALITY_TOLERANCE * max(1.0, abs(upper)):
                mip_lower, chosen, mip_upper, status = master.integer_rounds(
                    upper, inside, name=self.name, seconds_left=self._seconds_left, options=options
                )
                lower = max(lower, mip_lower)
                if mip_upper < upper:
                    upper, incumbent = mip_upper, columns[chosen]
                self.status = status
            elif timed_out:
                self.status = "time_limit"
        self._open = _mask(incumbent, n_fac)
        self.bound = min(lower, upper)


class _Master:
    """The Benders master of the p-median over a (screened) set of sites: binary ``y_j``,
    one ``θ_i`` per demand point, and the cuts ``θ_i + Σ_j max(0, D - d_ij) y_j ≥ D``."""

    def __init__(self, rows: np.ndarray, weight: np.ndarray, k: int, fixed_open: np.ndarray) -> None:
        self.rows, self.weight, self.k, self.fixed_open = rows, weight, k, fixed_open
        n_dem, n_fac = rows.shape
        self.order = np.argsort(rows, axis=1, kind="stable")
        self.ranked = np.take_along_axis(rows, self.order, axis=1)
        self.nearest = self.ranked[:, 0] if n_fac else np.zeros(n_dem)
        self.cut_points: list[np.ndarray] = []
        self.cut_levels: list[np.ndarray] = []
        # points that cannot reach every site must have a reachable one open
        self.partial = np.flatnonzero(~np.isfinite(rows).all(axis=1))

    def add_cuts(self, points: np.ndarray, levels: np.ndarray) -> None:
        finite = np.isfinite(levels) & (levels > self.nearest[points])
        self.cut_points.append(points[finite])
        self.cut_levels.append(levels[finite])

    def add_nearest_cuts(self) -> None:
        n_dem, n_fac = self.rows.shape
        for rank in range(1, min(_NEAREST_LEVELS + 1, n_fac)):
            self.add_cuts(np.arange(n_dem), self.ranked[:, rank])

    def _constraints(self) -> list[LinearConstraint]:
        n_dem, n_fac = self.rows.shape
        points = np.concatenate([*self.cut_points, np.zeros(0, dtype=int)])
        levels = np.concatenate([*self.cut_levels, np.zeros(0)])
        if points.size:
            pairs = np.unique(np.column_stack([points, levels]), axis=0)
            points, levels = pairs[:, 0].astype(int), pairs[:, 1]
            self.cut_points, self.cut_levels = [points], [levels]
        gain = np.maximum(levels[:, None] - self.rows[points], 0.0)
        cut_row, site = np.nonzero(gain)
        n_cut = points.size
        cuts = sparse.csr_array(
            (
                np.concatenate([np.ones(n_cut), gain[cut_row, site]]),
                (np.concatenate([np.arange(n_cut), cut_row]), np.concatenate([n_fac + points, site])),
            ),
            shape=(n_cut, n_fac + n_dem),
        )
        reach_row, reach_site = np.nonzero(np.isfinite(self.rows[self.partial]))
        reach = sparse.csr_array(
            (np.ones(reach_row.size), (reach_row, reach_site)), shape=(self.partial.size, n_fac + n_dem)
        )
        count = sparse.csr_array(
            (np.ones(n_fac), (np.zeros(n_fac, dtype=int), np.arange(n_fac))), shape=(1, n_fac + n_dem)
        )
        return [
            LinearConstraint(cuts, levels, np.inf),
            LinearConstraint(reach, 1.0, np.inf),
            LinearConstraint(count, self.k, self.k),
        ]

    def _solve(self, *, integral: bool, options: dict[str, object]) -> object:
        n_dem, n_fac = self.rows.shape
        lower = np.concatenate([np.zeros(n_fac), self.nearest])
        lower[self.fixed_open] = 1.0
        upper = np.concatenate([np.ones(n_fac), np.full(n_dem, np.inf)])
        objective = np.concatenate([np.zeros(n_fac), self.weight])
        constraints = self._constraints()
        if not integral:
            # HiGHS' interior point solves these relaxations several times faster than its dual simplex
            below = [constraint for constraint in constraints if np.isinf(constraint.ub).all()]
            exact = [constraint for constraint in constraints if not np.isinf(constraint.ub).all()]
            return linprog(
                objective,
                A_ub=-sparse.vstack([constraint.A for constraint in below]),
                b_ub=-np.concatenate([np.broadcast_to(constraint.lb, constraint.A.shape[0]) for constraint in below]),
                A_eq=sparse.vstack([constraint.A for constraint in exact]),
                b_eq=np.concatenate([np.broadcast_to(constraint.lb, constraint.A.shape[0]) for constraint in exact]),
                bounds=np.column_stack([lower, upper]),
                method="highs-ipm",
                options={key: value for key, value in options.items() if key in ("disp", "time_limit")},
            )
        return milp(
            objective,
            constraints=constraints,
            bounds=Bounds(lower, upper),
            integrality=np.concatenate([np.ones(n_fac), np.zeros(n_dem)]),
            options=options,
        )

    def most_violated(self, sites: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points whose deepest cut at the (fractional) ``sites`` exceeds ``θ``, and that cut's level."""
        n_dem = self.rows.shape[0]
        share = np.cumsum(sites[self.order], axis=1)
        position = np.argmax(share >= 1 - _CUT_TOLERANCE, axis=1)
        level = self.ranked[np.arange(n_dem), position]
        finite = np.isfinite(level)
        value = np.full(n_dem, -np.inf)
        value[finite] = level[finite] - (np.maximum(level[finite, None] - self.rows[finite], 0.0) * sites).sum(axis=1)
        violated = value > theta + _CUT_TOLERANCE * np.maximum(1.0, np.abs(level))
        return np.flatnonzero(violated), level[violated]

    def linear_rounds(self, upper: float, seconds_left: Clock) -> tuple[float, bool]:
        """Add cuts over the linear relaxation; return its bound and whether time ran out."""
        n_fac = self.rows.shape[1]
        bound = -np.inf
        for _ in range(_MAX_LP_ROUNDS):
            if seconds_left() == 0:
                return bound, True
            result = self._solve(integral=False, options=_limited({"disp": False}, seconds_left()))
            if result.x is None:
                return bound, status_name(result.status) == "time_limit"
            previous, bound = bound, max(bound, float(result.fun))
            points, levels = self.most_violated(result.x[:n_fac], result.x[n_fac:])
            closed = upper - bound <= _OPTIMALITY_TOLERANCE * max(1.0, abs(upper))
            if points.size == 0 or closed or bound - previous < _LP_STALL * (upper - previous):
                return bound, False
            self.add_cuts(points, levels)
        return bound, False

    def integer_rounds(
        self, upper: float, incumbent: np.ndarray, *, name: str, seconds_left: Clock, options: dict[str, object]
    ) -> tuple[float, np.ndarray, float, str]:
        """Solve the master with binary sites, adding the cuts each solution lacks.

        Returns the lower bound, the best sites found, their cost and the status.
        """
        n_fac = self.rows.shape[1]
        gap = float(options.get("mip_rel_gap", 0.0))
        lower = -np.inf
        for _ in range(_MAX_INTEGER_ROUNDS):
            result = self._solve(integral=True, options=_limited(options, seconds_left()))
            status = status_name(result.status)
            if result.x is None:
                if status == "infeasible":
                    msg = f"{name}: no choice of k={self.k} sites serves every demand point that can reach a site; raise k or the travel-time cutoff"
                    raise InputError(msg, field="k")
                if np.isfinite(upper):
                    return lower, incumbent, upper, "time_limit"
                msg = f"{name}: HiGHS found no solution ({result.message.strip()}); raise time_limit_s"
                raise InputError(msg, field="time_limit_s")
            dual = getattr(result, "mip_dual_bound", None)
            lower = max(lower, float(result.fun if dual is None else dual))
            chosen = np.flatnonzero(np.round(result.x[:n_fac]))
            minutes = self.rows[:, chosen].min(axis=1)
            cost = float(self.weight @ minutes)
            if cost < upper:
                upper, incumbent = cost, chosen
            if status == "time_limit":
                return lower, incumbent, upper, status
            if upper - lower <= max(gap, _OPTIMALITY_TOLERANCE) * max(1.0, abs(upper)):
                return lower, incumbent, upper, "optimal"
            theta = result.x[n_fac:]
            short = np.flatnonzero(theta < minutes - _CUT_TOLERANCE * np.maximum(1.0, minutes))
            self.add_cuts(short, minutes[short])
        msg = f"{name}: the integer rounds did not converge"  # each round cuts off its own solution
        raise InputError(msg)


class _LagrangianScreen:
    """Sites that can be left out of, or must be in, every optimal p-median solution (see module docs)."""

    def __init__(
        self, rows: np.ndarray, weight: np.ndarray, k: int, locked: np.ndarray, *, seconds_left: Clock
    ) -> None:
        self.rows, self.weight, self.k, self.locked = rows, weight, k, locked
        self.seconds_left = seconds_left
        n_fac = rows.shape[1]
        self.keep = np.ones(n_fac, dtype=bool)
        self.must_open = np.zeros(0, dtype=int)
        self.incumbent = np.zeros(0, dtype=int)
        self.multipliers = np.zeros(rows.shape[0])
        self.bound = -np.inf
        self.upper = np.inf

    def run(self) -> None:
        n_dem, n_fac = self.rows.shape
        free_count = self.k - self.locked.size
        if n_dem == 0 or free_count == 0:
            return
        weighted = self.weight[:, None] * self.rows
        incumbent = _local_search(weighted, self.k, self.locked)
        upper = _nearest_cost(weighted, incumbent)
        if not np.isfinite(upper):
            return
        tolerance = _SCREEN_TOLERANCE * max(1.0, abs(upper))
        is_free = np.ones(n_fac, dtype=bool)
        is_free[self.locked] = False
        must_open = np.zeros(n_fac, dtype=bool)
        multipliers = np.min(weighted, axis=1)
        best_multipliers = multipliers
        step_scale, best_bound, stalled = _SUBGRADIENT_START, -np.inf, 0
        reduced = np.empty_like(weighted)
        for _ in range(_SUBGRADIENT_ITERATIONS):
            np.subtract(weighted, multipliers[:, None], out=reduced)
            np.minimum(reduced, 0.0, out=reduced)
            rho = reduced.sum(axis=0)
            free = np.flatnonzero(is_free)
            ranked = free[np.argsort(rho[free], kind="stable")]
            chosen = np.concatenate([self.locked, ranked[:free_count]])
            bound = multipliers.sum() + rho[chosen].sum()
            last_in = rho[ranked[free_count - 1]]
            first_out = rho[ranked[free_count]] if ranked.size > free_count else np.inf
            outside = ranked[free_count:]
            self.keep[outside[bound + rho[outside] - last_in > upper + tolerance]] = False
            inside = ranked[:free_count]
            must_open[inside[bound - rho[inside] + first_out > upper + tolerance]] = True
            if bound > best_bound + tolerance:
                best_bound, best_multipliers, stalled = bound, multipliers, 0
            else:
                stalled += 1
                if stalled >= _SUBGRADIENT_PATIENCE:
                    step_scale, stalled = step_scale / 2, 0
            value = _nearest_cost(weighted, chosen)
            if value < upper:
                upper, incumbent = value, chosen
            served = (reduced[:, chosen] < 0).sum(axis=1)
            # step in minutes (λ_i / w_i), so heavy merged points move as fast as light ones
            subgradient = (1.0 - served) * self.weight
            norm = float(subgradient @ (1.0 - served))
            settled = self.keep.sum() == self.k
            if (
                settled
                or norm == 0
                or upper - best_bound <= tolerance
                or step_scale < _SUBGRADIENT_MIN_STEP
                or self.seconds_left() == 0
            ):
                break
            multipliers = multipliers + step_scale * (upper - bound) / norm * subgradient
        self.keep[incumbent] = True
        self.must_open = np.flatnonzero(must_open & self.keep)
        self.incumbent, self.upper, self.bound, self.multipliers = (
            np.sort(incumbent),
            upper,
            best_bound,
            best_multipliers,
        )


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


def _limited(options: dict[str, object], seconds: float | None) -> dict[str, object]:
    return options if seconds is None else options | {"time_limit": seconds}


def _mask(positions: np.ndarray, size: int) -> np.ndarray:
    mask = np.zeros(size, dtype=bool)
    mask[positions] = True
    return mask


def _weighted_minutes(cost: np.ndarray, weights: np.ndarray, open_sites: np.ndarray) -> float:
    nearest = cost[:, open_sites].min(axis=1)
    reachable = np.isfinite(nearest)
    return float((weights[reachable] * nearest[reachable]).sum())
