"""Reconfiguration scenarios: which venues close, open, change kind, and where sessions move.

A scenario is a YAML file (schema version 1, :mod:`~geoplan.scenarios.schema`) holding an ordered
list of changes applied to the programme the venue and session files describe (the baseline):
read with line numbers (:mod:`~geoplan.scenarios.load`), applied to a study area
(:mod:`~geoplan.scenarios.apply`), compared with another on one travel-time matrix
(:mod:`~geoplan.scenarios.compare`) and written as a committee-report section
(:mod:`~geoplan.scenarios.html`).
"""

from geoplan.coverage import POPULATION_LABELS
from geoplan.errors import ScenarioError
from geoplan.scenarios.apply import AppliedScenario, apply_scenario, describe_changes, kind_labels, plain_label
from geoplan.scenarios.compare import (
    DECILES,
    E2SFCA_PER_CHILDREN,
    IMPACT_COLUMNS,
    ScenarioComparison,
    compare,
    run_scenario,
)
from geoplan.scenarios.load import list_scenarios, load_scenario, parse_scenario, resolve_scenario, scenario_yaml
from geoplan.scenarios.schema import (
    BASELINE,
    POPULATIONS,
    SCENARIO_DIR,
    SCENARIO_VERSION,
    Change,
    MoveSessions,
    NewSession,
    OpenVenue,
    Redesignate,
    Scenario,
    ScenarioSettings,
    baseline_scenario,
    catalogue_path,
    catalogue_reference,
    format_loc,
)
from geoplan.scenarios.tables import impact_tables

__all__ = [
    "BASELINE",
    "DECILES",
    "E2SFCA_PER_CHILDREN",
    "IMPACT_COLUMNS",
    "POPULATIONS",
    "POPULATION_LABELS",
    "SCENARIO_DIR",
    "SCENARIO_VERSION",
    "AppliedScenario",
    "Change",
    "MoveSessions",
    "NewSession",
    "OpenVenue",
    "Redesignate",
    "Scenario",
    "ScenarioComparison",
    "ScenarioError",
    "ScenarioSettings",
    "apply_scenario",
    "baseline_scenario",
    "catalogue_path",
    "catalogue_reference",
    "compare",
    "describe_changes",
    "format_loc",
    "impact_tables",
    "kind_labels",
    "list_scenarios",
    "load_scenario",
    "parse_scenario",
    "plain_label",
    "resolve_scenario",
    "run_scenario",
    "scenario_yaml",
]
