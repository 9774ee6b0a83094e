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

#: Public names by the module that defines them, in the order data flows through them.
_MODULES: dict[str, tuple[str, ...]] = {
    # settings and errors
    "geoplan.settings": ("settings",),
    "geoplan.errors": (
        "GeoplanError",
        "InputError",
        "ScenarioError",
        "DataSourceError",
        "CacheError",
        "OutputError",
        "NetworkUnavailableError",
    ),
    # sources → layers → study area
    "geoplan.studyarea": ("StudyArea", "load_study_area", "summarise"),
    "geoplan.workspace": ("Workspace",),
    # network → travel times → catchments
    "geoplan.network": ("WalkNetwork", "WalkProfile", "get_profile", "network_from_file", "network_from_polygon"),
    "geoplan.traveltime": ("TravelTimeMatrix", "travel_time_matrix", "study_area_travel_times"),
    "geoplan.crowfly": ("crowfly_matrix",),
    "geoplan.catchments": ("isochrones", "crowfly_isochrones", "study_area_catchments"),
    # programme → coverage
    "geoplan.programme": ("Configuration", "baseline_configuration"),
    "geoplan.coverage": ("CoverageResult", "measure_coverage", "GapWeights", "GapResult", "find_gaps", "e2sfca"),
    # scenarios and optimisation
    "geoplan.scenarios": (
        "Scenario",
        "ScenarioComparison",
        "load_scenario",
        "apply_scenario",
        "compare",
        "run_scenario",
    ),
    "geoplan.optimise": ("MaximalCovering", "PMedian", "CapacitatedCoverage"),
    # outreach and reach
    "geoplan.outreach": ("OutreachPlan", "plan_outreach"),
    "geoplan.reach": ("ReachResult", "analyse_reach"),
    # many areas at once
    "geoplan.batch": ("run_batch",),
}
#: The module of each public name.
_EXPORTS: dict[str, str] = {name: module for module, names in _MODULES.items() for name in names}

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
