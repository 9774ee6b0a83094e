"""Choose sites for early-years services: maximal covering, p-median and capacitated coverage.

One class per model, as spopt's ``spopt.locate``: build it with ``from_cost_matrix``,
``from_geodataframe`` or ``from_workspace``, call ``.solve()`` (which returns the model) and read
``.selected``, ``.objective``, ``.bound``, ``.gap``, ``.status`` and ``.coverage`` (its checked
inputs are ``.problem``, a :class:`LocationProblem`). Every model is a mixed-integer programme
solved with HiGHS through :func:`scipy.optimize.milp`.
"""

from geoplan.optimise.base import CoverageSummary, LocationModel, LocationProblem
from geoplan.optimise.capacitated import CapacitatedCoverage
from geoplan.optimise.inputs import DEFAULT_AGE_COLUMN, DEFAULT_CANDIDATE_KINDS
from geoplan.optimise.mclp import MaximalCovering
from geoplan.optimise.pmedian import PMedian

__all__ = [
    "DEFAULT_AGE_COLUMN",
    "DEFAULT_CANDIDATE_KINDS",
    "CapacitatedCoverage",
    "CoverageSummary",
    "LocationModel",
    "LocationProblem",
    "MaximalCovering",
    "PMedian",
]
