"""Choosing visits: an exact MILP (HiGHS through :func:`scipy.optimize.milp`) and a greedy baseline.

Both work on plain arrays, ``reach`` (origins × groups, the group is within a walk of the origin)
and ``weights`` (one per origin), under the same :class:`VisitTerms`: plan length, monthly budget,
rules given as ``(group indices, every_months)`` and repeat value. The model is in the docstring
of :mod:`geoplan.outreach`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from geoplan.errors import InputError
from geoplan.solver import status_name
from geoplan.text import plural

#: A second month's contact with the same families is worth half a first one.
DEFAULT_REPEAT_VALUE = 0.5
DEFAULT_TIME_LIMIT_S = 60.0
#: The longest time HiGHS may be given (an hour): a plan that needs longer needs a smaller problem.
MAX_TIME_LIMIT_S = 3600.0
#: The longest plan: two years of months.
MAX_PLAN_MONTHS = 24
#: The largest monthly visit budget (more than any borough's outreach team makes).
MAX_VISITS_PER_MONTH = 100
#: Tiny cost per visit (weighted children) so the solver plans no visit that reaches nobody who counts.
VISIT_COST = 1e-6

Rules = Sequence[tuple[Sequence[int], int]]


@dataclass(frozen=True)
class VisitSolution:
    """Which group is visited in which month, and what the plan is worth.

    Attributes
    ----------
    visits
        Boolean array (groups × months).
    objective
        Weighted children reached, repeats discounted (see :mod:`geoplan.outreach`).
    status
        ``optimal``, ``time_limit`` (MILP), ``heuristic`` or ``infeasible`` (greedy).
    gap
        Relative MIP gap HiGHS reports (0 when proven optimal; NaN for greedy).
    method
        How the plan was found.
    seconds
        Wall-clock time to find it.
    """

    visits: np.ndarray
    objective: float
    status: str
    gap: float
    method: str
    seconds: float


def _whole(value: object, low: int, high: int, *, name: str, field: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not low <= value <= high:
        msg = f"{name} must be a whole number from {low} to {high}, got {value!r}"
        raise InputError(msg, field=field)


def check_plan_size(months: int, visits_per_month: int) -> None:
    """Check the plan length (1 to :data:`MAX_PLAN_MONTHS`) and monthly budget (1 to :data:`MAX_VISITS_PER_MONTH`)."""
    _whole(months, 1, MAX_PLAN_MONTHS, name="months", field="months")
    _whole(visits_per_month, 1, MAX_VISITS_PER_MONTH, name="visits per month", field="visits_per_month")


def check_fraction(value: float, name: str) -> float:
    """Return ``value`` if it is a number from 0 to 1."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number) or not 0.0 <= value <= 1.0:
        msg = f"{name} must be a number from 0 to 1, got {value!r}"
        raise InputError(msg, field=name)
    return float(value)


def check_time_limit(seconds: float | None) -> float | None:
    """Return ``seconds`` if it is ``None`` (no limit) or more than 0 and at most :data:`MAX_TIME_LIMIT_S`."""
    if seconds is None:
        return None
    if not isinstance(seconds, int | float | np.number) or not 0 < seconds <= MAX_TIME_LIMIT_S:
        msg = f"time limit must be more than 0 and at most {MAX_TIME_LIMIT_S:g} seconds, got {seconds!r}"
        raise InputError(msg, field="time_limit_s")
    return float(seconds)


@dataclass(frozen=True)
class VisitTerms:
    """What a visit plan must fit, checked when made: its length, monthly budget, rules and repeat value.

    Attributes
    ----------
    months, visits_per_month
        Plan length (1 to :data:`MAX_PLAN_MONTHS`) and the visit budget of every month
        (1 to :data:`MAX_VISITS_PER_MONTH`).
    rules
        ``(group indices, every_months)`` per rule area: at least one visit to one of the groups
        in every window of ``every_months`` consecutive months (rules with no group are ignored).
    repeat_value
        Worth (0 to 1) of each further month's contact with the same families relative to the one before.

    Raises
    ------
    InputError
        A size or repeat value out of its range.
    """

    months: int
    visits_per_month: int
    rules: Rules = ()
    repeat_value: float = DEFAULT_REPEAT_VALUE

    def __post_init__(self) -> None:
        check_plan_size(self.months, self.visits_per_month)
        object.__setattr__(self, "repeat_value", check_fraction(self.repeat_value, "repeat_value"))


def windows(months: int, every: int) -> list[range]:
    """Windows of ``every`` consecutive months that lie inside the plan."""
    return [range(start, start + every) for start in range(months - every + 1)]


def plan_value(reach: np.ndarray, weights: np.ndarray, visits: np.ndarray, *, repeat_value: float) -> float:
    """Worth of a plan: Σ_i w_i (1 + q + … + q^(r_i - 1)), r_i = months in which origin i is reached.

    Parameters
    ----------
    reach
        Boolean (origins × groups): the group is within walking reach of the origin.
    weights
        Weight of each origin.
    visits
        Boolean (groups × months).
    repeat_value
        ``q``, the worth of each further month's contact relative to the one before.
    """
    reached_months = ((reach.astype(float) @ visits.astype(float)) > 0).sum(axis=1)
    worth = np.array([sum(repeat_value**k for k in range(r)) for r in range(visits.shape[1] + 1)])
    return float(weights @ worth[reached_months])


def _merge(reach: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Origins with positive weight merged by identical reach rows (weights summed); no-reach rows dropped."""
    keep = (weights > 0) & reach.any(axis=1)
    if not keep.any():
        return np.zeros((0, reach.shape[1]), dtype=bool), np.zeros(0)
    rows, inverse = np.unique(reach[keep], axis=0, return_inverse=True)
    return rows, np.bincount(inverse.ravel(), weights=weights[keep], minlength=len(rows))


def _rule_members(rules: Rules, n_groups: int) -> list[np.ndarray]:
    members = []
    for group_indices, every in rules:
        indices = np.asarray(group_indices, dtype=int)
        if indices.size and (indices.min() < 0 or indices.max() >= n_groups):
            msg = f"a rule names group number {int(indices.max())} but there are {n_groups} groups"
            raise InputError(msg, field="rules")
        _whole(every, 1, MAX_PLAN_MONTHS, name="every_months", field="rules")
        members.append(indices)
    return members


def _coo(
    rows: list[np.ndarray], cols: list[np.ndarray], values: list[np.ndarray], shape: tuple[int, int]
) -> sparse.csr_array:
    return sparse.csr_array(
        (np.concatenate(values), (np.concatenate(rows).astype(int), np.concatenate(cols).astype(int))), shape=shape
    )


def solve_visits(
    reach: np.ndarray,
    weights: np.ndarray,
    terms: VisitTerms,
    *,
    time_limit_s: float | None = DEFAULT_TIME_LIMIT_S,
) -> VisitSolution:
    """Choose visits exactly with a MILP (HiGHS via :func:`scipy.optimize.milp`).

    Parameters
    ----------
    reach
        Boolean (origins × groups): the group is within walking reach of the origin.
    weights
        Weight of each origin (weighted children).
    terms
        Plan length, monthly budget, frequency rules and repeat value.
    time_limit_s
        Stop after this many seconds (more than 0, at most :data:`MAX_TIME_LIMIT_S`; ``None``: no
        limit) with the best plan found (``status="time_limit"``, ``gap`` > 0).

    Raises
    ------
    InputError
        A rule naming a group that is not there, or rules that cannot be met within the budget (infeasible).
    """
    time_limit_s = check_time_limit(time_limit_s)
    months, visits_per_month, rules = terms.months, terms.visits_per_month, terms.rules
    started = time.perf_counter()
    n_groups = reach.shape[1]
    members = _rule_members(rules, n_groups)
    patterns, merged = _merge(np.asarray(reach, dtype=bool), np.asarray(weights, dtype=float))
    n_patterns = len(merged)
    n_x, n_y = n_groups * months, n_patterns * months
    n_var = n_x + 2 * n_y

    def x_index(group: np.ndarray | int, month: np.ndarray | int) -> np.ndarray | int:
        return group * months + month

    blocks, lower, upper = [], [], []
    # y[p, m] <= Σ_{g reaches p} x[g, m]
    pattern_index, group_index = np.nonzero(patterns)
    row_ids, col_ids, values = [], [], []
    for month in range(months):
        row_ids += [np.arange(n_patterns) * months + month, pattern_index * months + month]
        col_ids += [n_x + np.arange(n_patterns) * months + month, x_index(group_index, month)]
        values += [np.ones(n_patterns), -np.ones(len(pattern_index))]
    blocks.append(_coo(row_ids, col_ids, values, (n_y, n_var)))
    lower.append(np.full(n_y, -np.inf))
    upper.append(np.zeros(n_y))
    # Σ_k u[p, k] <= Σ_m y[p, m]
    pattern_of = np.repeat(np.arange(n_patterns), months)
    blocks.append(
        _coo(
            [pattern_of, pattern_of],
            [n_x + n_y + np.arange(n_y), n_x + np.arange(n_y)],
            [np.ones(n_y), -np.ones(n_y)],
            (n_patterns, n_var),
        )
    )
    lower.append(np.full(n_patterns, -np.inf))
    upper.append(np.zeros(n_patterns))
    # Σ_g x[g, m] <= budget
    month_of = np.tile(np.arange(months), n_groups)
    blocks.append(_coo([month_of], [np.arange(n_x)], [np.ones(n_x)], (months, n_var)))
    lower.append(np.full(months, -np.inf))
    upper.append(np.full(months, float(visits_per_month)))
    # each rule area visited in every window
    window_rows, window_cols = [], []
    n_windows = 0
    for indices, (_, every) in zip(members, rules, strict=True):
        if indices.size == 0:
            continue
        for window in windows(months, every):
            cols = np.concatenate([x_index(indices, month) for month in window])
            window_rows.append(np.full(cols.size, n_windows))
            window_cols.append(cols)
            n_windows += 1
    if n_windows:
        blocks.append(_coo(window_rows, window_cols, [np.ones(c.size) for c in window_cols], (n_windows, n_var)))
        lower.append(np.ones(n_windows))
        upper.append(np.full(n_windows, np.inf))

    discount = terms.repeat_value ** np.arange(months, dtype=float)
    cost = np.zeros(n_var)
    cost[:n_x] = VISIT_COST
    cost[n_x + n_y :] = -(merged[:, None] * discount[None, :]).ravel()
    integrality = np.zeros(n_var)
    integrality[:n_x] = 1
    options: dict[str, object] = {"disp": False, "mip_rel_gap": 0.0}
    if time_limit_s is not None:
        options["time_limit"] = time_limit_s
    result = milp(
        cost,
        constraints=LinearConstraint(sparse.vstack(blocks, format="csr"), np.concatenate(lower), np.concatenate(upper)),
        bounds=Bounds(np.zeros(n_var), np.ones(n_var)),
        integrality=integrality,
        options=options,
    )
    status = status_name(result.status)
    if result.x is None:
        if status == "infeasible":
            monthly = sum(1 for indices, (_, every) in zip(members, rules, strict=True) if indices.size and every == 1)
            msg = (
                f"the frequency rules cannot be met with {plural(visits_per_month, 'visit')} a month over "
                f"{plural(months, 'month')} ({monthly} areas need a visit every month); raise the visits per month "
                "or relax the rules"
            )
            raise InputError(msg, field="visits_per_month")
        msg = f"HiGHS found no plan ({result.message.strip()}); raise the time limit"
        raise InputError(msg, field="time_limit_s")
    visits = np.round(result.x[:n_x]).reshape(n_groups, months).astype(bool)
    return VisitSolution(
        visits=visits,
        objective=plan_value(patterns, merged, visits, repeat_value=terms.repeat_value),
        status=status,
        gap=float(getattr(result, "mip_gap", 0.0) or 0.0),
        method="milp (HiGHS branch-and-cut via scipy.optimize.milp)",
        seconds=time.perf_counter() - started,
    )


def greedy_visits(reach: np.ndarray, weights: np.ndarray, terms: VisitTerms) -> VisitSolution:
    """Greedy baseline: month by month, the visit with the largest marginal worth, meeting the rules.

    A rule area whose window closes this month and has had no visit in it is "due"; while the
    budget left equals the number of due areas still unvisited, only their groups are eligible.
    ``status`` is ``heuristic``, or ``infeasible`` when more areas fall due than the budget allows
    (the greedy plan then breaks a rule; the MILP may still meet them).
    """
    months, rules = terms.months, terms.rules
    started = time.perf_counter()
    reach = np.asarray(reach, dtype=bool)
    weights = np.asarray(weights, dtype=float)
    n_groups = reach.shape[1]
    members = _rule_members(rules, n_groups)
    area_of = np.full(n_groups, -1)
    for number, indices in enumerate(members):
        area_of[indices] = number
    visits = np.zeros((n_groups, months), dtype=bool)
    reached_months = np.zeros(reach.shape[0], dtype=int)
    status = "heuristic"
    for month in range(months):
        due = set()
        for number, (indices, (_, every)) in enumerate(zip(members, rules, strict=True)):
            start = month - every + 1
            if indices.size and 0 <= start <= months - every and not visits[indices, start:month].any():
                due.add(number)
        reached_now = np.zeros(reach.shape[0], dtype=bool)
        for left in range(terms.visits_per_month, 0, -1):
            unmet = due - {area_of[g] for g in np.flatnonzero(visits[:, month])}
            if len(unmet) > left:
                status = "infeasible"
            eligible = ~visits[:, month]
            if len(unmet) >= left:
                eligible &= np.isin(area_of, list(unmet))
            if not eligible.any():
                break
            fresh = weights * np.where(reached_now, 0.0, terms.repeat_value**reached_months)
            gains = np.where(eligible, fresh @ reach, -np.inf)
            if gains.max() <= 0:
                if not unmet:
                    break
                # Nothing left to gain: spend the visit on a rule that is due rather than on no one.
                gains = np.where(eligible & np.isin(area_of, list(unmet)), 0.0, -np.inf)
            best = int(np.argmax(gains))
            visits[best, month] = True
            reached_now |= reach[:, best]
        reached_months += reached_now
    for indices, (_, every) in zip(members, rules, strict=True):
        if indices.size and not all(visits[np.ix_(indices, list(window))].any() for window in windows(months, every)):
            status = "infeasible"
    return VisitSolution(
        visits=visits,
        objective=plan_value(reach, weights, visits, repeat_value=terms.repeat_value),
        status=status,
        gap=math.nan,
        method="greedy (largest marginal weighted children per visit)",
        seconds=time.perf_counter() - started,
    )
