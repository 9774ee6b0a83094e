"""Maximal covering location problem (Church & ReVelle 1974)."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from geoplan.optimise.base import LocationModel, merge_rows


class MaximalCovering(LocationModel):
    """Choose ``k`` sites to maximise the demand weight within ``max_minutes`` of a chosen site.

    Demand points with the same set of covering sites are merged (weights summed) and demand
    already covered by a locked site becomes a constant, so the model HiGHS solves has one row
    per distinct coverage pattern, not per demand point.

    ``objective`` is the covered weight, equal to spopt's ``MCLP`` objective.
    """

    def _solve(self, options: dict[str, object]) -> None:
        problem = self.problem
        reach = problem.cost <= problem.max_minutes
        by_locked = reach[:, problem.locked].any(axis=1)
        base = float(problem.weights[by_locked].sum())
        open_rows = ~by_locked & reach.any(axis=1) & (problem.weights > 0)
        groups, group_weight = merge_rows(reach[open_rows], problem.weights[open_rows])
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
        self.objective = float(problem.weights[reach[:, self._open].any(axis=1)].sum())
        self.bound = base - self._dual_bound
