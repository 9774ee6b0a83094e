"""Outreach planner: which community groups a practitioner visits each month.

The outreach practitioner takes the children's-centre programme to libraries, community groups,
faith groups, schools, clinics and food banks. A visit reaches the families with young children
who live within a walk of the group. The planner chooses, for each month of a period, which
groups to visit so that the visits reach as many young children as possible, counting most the
children in deprived areas who do not live within a walk of a children's centre. It plans against
the current programme or any other (a scenario's), and names which.

Model
-----
Each origin ``i`` (a postcode where children live) has a weight::

    w_i = children_0_4 × deprivation weight (IDACI decile, :class:`geoplan.coverage.GapWeights`)
          × (near_centre_factor if a centre building is within centre_minutes, else 1)

and is reached in month ``m`` when a group within ``group_minutes`` of it is visited that month.
Families need reminding, but a first contact matters most, so an origin reached in ``r`` of the
months is worth ``w_i × (1 + q + q² + … + q^(r-1))`` with ``q = repeat_value`` (0 counts only the
first contact; 1 counts every month equally). The objective is the sum over origins.

Constraints: at most ``visits_per_month`` visits a month, each group at most once a month, and
each rule area (a list of wards) visited at least once in every ``every_months`` consecutive
months of the plan whenever a located group meets there. Windows lie inside the plan, so a
two-monthly rule does not bind a one-month plan.

It is solved exactly as a mixed-integer programme (binary ``x[g, m]``, coverage ``y[i, m]``
and month-count variables ``u[i, k]`` whose objective coefficients ``w_i q^k`` decrease, so no
ordering constraint is needed) with HiGHS through :func:`scipy.optimize.milp`; the HiGHS status
and MIP gap say whether the plan is proven optimal. A greedy plan (largest marginal gain per
visit, meeting the same rules) is computed alongside as a baseline.

Modules: :mod:`~geoplan.outreach.rules` (frequency rules), :mod:`~geoplan.outreach.solve` (MILP and
greedy on arrays), :mod:`~geoplan.outreach.plan` (groups, weights, the plan and its outputs),
:mod:`~geoplan.outreach.calendar` (dates and iCalendar).
"""

from geoplan.outreach.calendar import add_months, is_working_day, parse_start, visit_calendar, visit_date, working_days
from geoplan.outreach.plan import (
    GROUP_KINDS,
    GROUP_PROVIDERS,
    OutreachPlan,
    child_weights,
    explain_shortfall,
    outreach_groups,
    plan_outreach,
)
from geoplan.outreach.rules import OutreachRule, default_rules_path, load_outreach_rules
from geoplan.outreach.solve import (
    MAX_PLAN_MONTHS,
    MAX_VISITS_PER_MONTH,
    VisitSolution,
    VisitTerms,
    check_plan_size,
    greedy_visits,
    plan_value,
    solve_visits,
)

__all__ = [
    "GROUP_KINDS",
    "GROUP_PROVIDERS",
    "MAX_PLAN_MONTHS",
    "MAX_VISITS_PER_MONTH",
    "OutreachPlan",
    "OutreachRule",
    "VisitSolution",
    "VisitTerms",
    "add_months",
    "check_plan_size",
    "child_weights",
    "default_rules_path",
    "explain_shortfall",
    "greedy_visits",
    "is_working_day",
    "load_outreach_rules",
    "outreach_groups",
    "parse_start",
    "plan_outreach",
    "plan_value",
    "solve_visits",
    "visit_calendar",
    "visit_date",
    "working_days",
]
