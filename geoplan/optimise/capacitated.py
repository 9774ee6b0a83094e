"""Capacitated maximal covering: coverage within reach and within each site's capacity."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import sparse

from geoplan.optimise.base import CoverageSummary, LocationModel, coverage_summary


class CapacitatedCoverage(LocationModel):
    """Capacitated maximal covering: choose ``k`` sites to maximise the demand weight served
    within ``max_minutes``, where each site serves at most its capacity and a demand point
    may be split between sites.

    ``objective`` is the weight served.
    """

    needs_capacities: ClassVar[bool] = True

    def _solve(self, options: dict[str, object]) -> None:
        problem = self.problem
        reach = problem.cost <= problem.max_minutes
        useful = reach.any(axis=1) & (problem.weights > 0)
        groups, inverse = np.unique(reach[useful], axis=0, return_inverse=True)
        inverse = inverse.ravel()
        self._group_weight = np.bincount(inverse, weights=problem.weights[useful], minlength=groups.shape[0])
        self._group_of = np.full(problem.cost.shape[0], -1)
        self._group_of[useful] = inverse
        n_fac, n_grp = reach.shape[1], groups.shape[0]
        g_idx, f_idx = np.nonzero(groups)
        self._pairs = (g_idx, f_idx)
        n_pair = g_idx.size
        flow = n_fac + np.arange(n_pair)
        pair_rows = n_grp + n_fac + np.arange(n_pair)
        # demand Σ_j a_gj ≤ W_g; capacity Σ_g a_gj - cap_j x_j ≤ 0; the link a_gj ≤ min(W_g, cap_j) x_j
        # is implied by the others but tightens the LP relaxation a great deal.
        link = np.minimum(self._group_weight[g_idx], problem.capacities[f_idx])
        rows = sparse.csr_array(
            (
                np.concatenate([np.ones(n_pair), np.ones(n_pair), -problem.capacities, np.ones(n_pair), -link]),
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
        covered = np.zeros(self.problem.cost.shape[0])
        member = self._group_of >= 0
        covered[member] = self.problem.weights[member] * share[self._group_of[member]]
        return covered

    def _served_by_site(self) -> pd.Series:
        _, f_idx = self._pairs
        site_ids = self.problem.facility_ids
        flows = np.bincount(f_idx, weights=self._flow, minlength=len(site_ids)).astype(float)
        return pd.Series(flows, index=site_ids)

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
                facility[i], minutes[i] = j, self.problem.cost[i, j]
        covered = self._covered_weights(facility, minutes)
        return coverage_summary(self, facility, minutes, covered)
