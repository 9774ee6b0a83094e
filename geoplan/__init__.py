"""geoplan: plan early-years services with walking catchments, deprivation and child population.

The public API, in the order data flows through it::

    import geoplan

    workspace = geoplan.Workspace("layers/bexley.yaml", profile="buggy")
    coverage = geoplan.measure_coverage(workspace.area, workspace.travel_times(), venue_ids=...)

Names are imported on first use (as a package-level ``__getattr__``), so ``import geoplan`` and the
command line stay quick while every name below is one attribute away.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # settings and errors
    "settings": "geoplan.settings",
    "GeoplanError": "geoplan.errors",
    "InputError": "geoplan.errors",
    "ScenarioError": "geoplan.errors",
    "DataSourceError": "geoplan.errors",
    "CacheError": "geoplan.errors",
    "OutputError": "geoplan.errors",
    "NetworkUnavailableError": "geoplan.errors",
    # sources → layers → study area
    "StudyArea": "geoplan.studyarea",
    "load_study_area": "geoplan.studyarea",
    "summarise": "geoplan.studyarea",
    "Workspace": "geoplan.workspace",
    # network → travel times → catchments
    "WalkNetwork": "geoplan.network",
    "WalkProfile": "geoplan.network",
    "get_profile": "geoplan.network",
    "network_from_file": "geoplan.network",
    "network_from_polygon": "geoplan.network",
    "TravelTimeMatrix": "geoplan.traveltime",
    "travel_time_matrix": "geoplan.traveltime",
    "crowfly_matrix": "geoplan.traveltime",
    "study_area_travel_times": "geoplan.traveltime",
    "isochrones": "geoplan.catchments",
    "crowfly_isochrones": "geoplan.catchments",
    "study_area_catchments": "geoplan.catchments",
    # programme → coverage
    "Configuration": "geoplan.programme",
    "baseline_configuration": "geoplan.programme",
    "CoverageResult": "geoplan.coverage",
    "measure_coverage": "geoplan.coverage",
    "GapWeights": "geoplan.coverage",
    "GapResult": "geoplan.coverage",
    "find_gaps": "geoplan.coverage",
    "e2sfca": "geoplan.coverage",
    # scenarios and optimisation
    "Scenario": "geoplan.scenarios",
    "ScenarioComparison": "geoplan.scenarios",
    "load_scenario": "geoplan.scenarios",
    "apply_scenario": "geoplan.scenarios",
    "compare": "geoplan.scenarios",
    "run_scenario": "geoplan.scenarios",
    "MaximalCovering": "geoplan.optimise",
    "PMedian": "geoplan.optimise",
    "CapacitatedCoverage": "geoplan.optimise",
    # outreach and reach
    "OutreachPlan": "geoplan.outreach",
    "plan_outreach": "geoplan.outreach",
    "ReachResult": "geoplan.reach",
    "analyse_reach": "geoplan.reach",
    # many areas at once
    "run_batch": "geoplan.batch",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        msg = f"module 'geoplan' has no attribute {name!r}"
        raise AttributeError(msg)
    value = importlib.import_module(module)
    if name != "settings":
        value = getattr(value, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
