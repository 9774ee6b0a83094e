"""Site optimisation: objectives checked against spopt, brute force and hand-computed optima."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pulp
import pytest
import spopt.locate as spopt_locate

from geoplan.errors import InputError
from geoplan.optimise import CapacitatedCoverage, MaximalCovering, PMedian
from geoplan.workspace import Workspace

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pulp")

#: Crow-fly minutes as in the issue: distance × 1.3 circuity at 4 km/h.
CIRCUITY = 1.3
METRES_PER_MINUTE = 4000 / 60
BEXLEY = "E09000004"


def crowfly_minutes(origins: np.ndarray, destinations: np.ndarray) -> np.ndarray:
    metres = np.hypot(origins[:, None, 0] - destinations[None, :, 0], origins[:, None, 1] - destinations[None, :, 1])
    return metres * CIRCUITY / METRES_PER_MINUTE


@dataclass
class Instance:
    cost: np.ndarray
    weights: np.ndarray
    facility_ids: list[str]
    demand_ids: list[str]


@pytest.fixture(scope="module")
def bexley_postcodes(mirror: Path) -> pd.DataFrame:
    table = pd.read_csv(mirror / "raw" / "postcodes" / "codepoint_open_2025_4_DA_SE_BR_bexley_2km.csv")
    return table[table["Admin_district_code"] == BEXLEY].reset_index(drop=True)


@pytest.fixture(scope="module")
def bexley_venues(mirror: Path) -> pd.DataFrame:
    return (
        pd.read_csv(mirror / "venues" / "bexley_venues.csv")
        .dropna(subset=["easting", "northing"])
        .reset_index(drop=True)
    )


@pytest.fixture(scope="module")
def bexley(bexley_postcodes: pd.DataFrame, bexley_venues: pd.DataFrame) -> Instance:
    """All Bexley residential postcodes × all located Bexley venues, one unit of weight per postcode."""
    cost = crowfly_minutes(
        bexley_postcodes[["Eastings", "Northings"]].to_numpy(float),
        bexley_venues[["easting", "northing"]].to_numpy(float),
    )
    return Instance(
        cost, np.ones(len(bexley_postcodes)), list(bexley_venues["venue_id"]), list(bexley_postcodes["Postcode"])
    )


@pytest.fixture(scope="module")
def bexley_small(bexley: Instance) -> Instance:
    """Every 15th Bexley postcode, weighted by position so the optimum is not flat."""
    rows = np.arange(0, bexley.cost.shape[0], 15)
    weights = 1.0 + (rows % 7)
    return Instance(bexley.cost[rows], weights, bexley.facility_ids, [bexley.demand_ids[r] for r in rows])


@pytest.fixture(scope="module")
def newport(osm_dir: Path) -> Instance:
    """Newport OSM POIs in EPSG:27700: places of worship, schools and clinics as demand, community
    venues (libraries, community centres, children & family services, social facilities) as sites."""
    pois = gpd.read_file(osm_dir / "newport-2023-06-13_pois.geojson").to_crs("EPSG:27700")
    xy = np.column_stack([pois.geometry.x, pois.geometry.y])
    is_site = pois["category"].isin(["library", "community", "children_family", "social_facility"]).to_numpy()
    demand = ~is_site
    cost = crowfly_minutes(xy[demand], xy[is_site])
    weights = 1.0 + (pois.loc[demand, "category"] == "education").to_numpy(float) * 2
    ids = [f"{t}/{i}" for t, i in zip(pois["osm_type"], pois["osm_id"], strict=True)]
    return Instance(
        cost,
        weights,
        [i for i, s in zip(ids, is_site, strict=True) if s],
        [i for i, d in zip(ids, demand, strict=True) if d],
    )


def spopt_mclp(inst: Instance, *, k: int, minutes: float, locked: tuple[str, ...] = ()) -> float:
    predefined = np.array([inst.facility_ids.index(f) for f in locked]) if locked else None
    model = spopt_locate.MCLP.from_cost_matrix(
        inst.cost, inst.weights, service_radius=minutes, p_facilities=k, predefined_facilities_arr=predefined
    )
    model.solve(pulp.PULP_CBC_CMD(msg=False))
    return pulp.value(model.problem.objective)


def spopt_pmedian(inst: Instance, *, k: int, locked: tuple[str, ...] = ()) -> float:
    predefined = np.array([inst.facility_ids.index(f) for f in locked]) if locked else None
    model = spopt_locate.PMedian.from_cost_matrix(
        inst.cost, inst.weights, p_facilities=k, predefined_facilities_arr=predefined
    )
    model.solve(pulp.PULP_CBC_CMD(msg=False))
    return pulp.value(model.problem.objective)


# ---------------------------------------------------------------- spopt agreement
@pytest.mark.parametrize("locked", [(), ("cc-west-street", "cc-danson")])
def test_mclp_matches_spopt_on_all_bexley_postcodes(bexley: Instance, locked: tuple[str, ...]) -> None:
    model = MaximalCovering.from_cost_matrix(
        bexley.cost, weights=bexley.weights, k=5, max_minutes=15, facility_ids=bexley.facility_ids, locked=locked
    ).solve()
    assert model.status == "optimal"
    assert model.gap == pytest.approx(0, abs=1e-9)
    assert model.objective == pytest.approx(spopt_mclp(bexley, k=5, minutes=15, locked=locked))
    assert set(locked) <= set(model.selected) and len(model.selected) == 5
    assert model.coverage.covered_weight == pytest.approx(model.objective)
    # the objective is what the chosen sites really cover
    chosen = [bexley.facility_ids.index(f) for f in model.selected]
    assert model.objective == (bexley.cost[:, chosen] <= 15).any(axis=1).sum()


@pytest.mark.parametrize("locked", [(), ("cc-west-street", "lib-thamesmead")])
def test_pmedian_matches_spopt_on_bexley_sample(bexley_small: Instance, locked: tuple[str, ...]) -> None:
    model = PMedian.from_cost_matrix(
        bexley_small.cost, weights=bexley_small.weights, k=4, facility_ids=bexley_small.facility_ids, locked=locked
    ).solve()
    assert model.status == "optimal"
    assert model.objective == pytest.approx(spopt_pmedian(bexley_small, k=4, locked=locked), rel=1e-9)
    assert model.bound == pytest.approx(model.objective, rel=1e-6)
    assert set(locked) <= set(model.selected)


@pytest.mark.parametrize("locked", [(), ("node/540759408",)])
def test_mclp_and_pmedian_match_spopt_on_newport(newport: Instance, locked: tuple[str, ...]) -> None:
    assert locked == () or locked[0] in newport.facility_ids
    mclp = MaximalCovering.from_cost_matrix(
        newport.cost, weights=newport.weights, k=4, max_minutes=10, facility_ids=newport.facility_ids, locked=locked
    ).solve()
    assert mclp.objective == pytest.approx(spopt_mclp(newport, k=4, minutes=10, locked=locked))
    pmedian = PMedian.from_cost_matrix(
        newport.cost, weights=newport.weights, k=4, facility_ids=newport.facility_ids, locked=locked
    ).solve()
    assert pmedian.objective == pytest.approx(spopt_pmedian(newport, k=4, locked=locked), rel=1e-9)


# ---------------------------------------------------------------- hand-computed optima
# Four homes on a line at 0, 1, 5, 6 km and three sites at 0.5, 3 and 5.5 km (minutes = km here).
LINE_HOMES = np.array([0.0, 1.0, 5.0, 6.0])
LINE_SITES = np.array([0.5, 3.0, 5.5])
LINE_COST = np.abs(LINE_HOMES[:, None] - LINE_SITES[None, :])
LINE_IDS = ["west", "middle", "east"]


def test_pmedian_hand_computed() -> None:
    weights = np.array([1.0, 1.0, 1.0, 3.0])
    # k=2: {west, east} costs 0.5+0.5+0.5+3*0.5 = 3.0; any pair with middle is worse.
    model = PMedian.from_cost_matrix(LINE_COST, weights=weights, k=2, facility_ids=LINE_IDS).solve()
    assert model.selected == ["west", "east"] and model.objective == pytest.approx(3.0)
    # k=1: west 0.5+0.5+4.5+3*5.5=22, middle 3+2+2+3*3=16, east 5.5+4.5+0.5+1.5=12.
    model = PMedian.from_cost_matrix(LINE_COST, weights=weights, k=1, facility_ids=LINE_IDS).solve()
    assert model.selected == ["east"] and model.objective == pytest.approx(12.0)
    # middle locked, k=2: middle+west = 0.5+0.5+2+3*3=12, middle+east = 3+2+0.5+1.5=7.
    model = PMedian.from_cost_matrix(LINE_COST, weights=weights, k=2, facility_ids=LINE_IDS, locked=["middle"]).solve()
    assert model.selected == ["middle", "east"] and model.objective == pytest.approx(7.0)
    assert model.coverage.per_demand["facility_id"].tolist() == ["middle", "middle", "east", "east"]


def test_pmedian_leaves_out_demand_that_reaches_no_site() -> None:
    cost = np.array([[1.0, 4.0], [np.inf, 2.0], [np.inf, np.inf]])
    model = PMedian.from_cost_matrix(cost, weights=[1.0, 1.0, 5.0], k=1).solve()
    # site 1 must open (the only one row 1 reaches): 4 + 2
    assert model.selected == ["1"] and model.objective == pytest.approx(6.0)
    assert model.coverage.covered_weight == pytest.approx(2.0)
    assert model.coverage.per_demand["facility_id"].tolist() == ["1", "1", None]


def test_mclp_hand_computed() -> None:
    weights = np.array([1.0, 1.0, 1.0, 3.0])
    # within 1 minute: west covers homes 0,1 (2); middle none; east covers 2,3 (4).
    model = MaximalCovering.from_cost_matrix(
        LINE_COST, weights=weights, k=1, max_minutes=1, facility_ids=LINE_IDS
    ).solve()
    assert model.selected == ["east"] and model.objective == 4.0 and model.coverage.share == pytest.approx(4 / 6)
    model = MaximalCovering.from_cost_matrix(
        LINE_COST, weights=weights, k=2, max_minutes=1, facility_ids=LINE_IDS, locked=["middle"]
    ).solve()
    assert model.selected == ["middle", "east"] and model.objective == 4.0
    per = model.coverage.per_demand
    assert per["covered_weight"].tolist() == [0.0, 0.0, 1.0, 3.0]


def test_capacitated_hand_computed() -> None:
    weights = np.array([1.0, 1.0, 1.0, 3.0])
    caps = [2.0, 4.0, 1.0]
    # 1-minute standard: west serves homes 0,1 (2, its capacity), east 1 of 4, middle reaches none.
    model = CapacitatedCoverage.from_cost_matrix(
        LINE_COST, weights=weights, k=1, max_minutes=1, facility_ids=LINE_IDS, capacities=caps
    ).solve()
    assert model.selected == ["west"] and model.objective == pytest.approx(2.0) and model.status == "optimal"
    # 3 minutes: middle reaches every home but serves only its capacity 4.
    model = CapacitatedCoverage.from_cost_matrix(
        LINE_COST, weights=weights, k=1, max_minutes=3, facility_ids=LINE_IDS, capacities=caps
    ).solve()
    assert model.selected == ["middle"] and model.objective == pytest.approx(4.0)
    # k=2: west+middle 2+4=6, middle+east 4+1=5, west+east 2+1=3.
    model = CapacitatedCoverage.from_cost_matrix(
        LINE_COST, weights=weights, k=2, max_minutes=3, facility_ids=LINE_IDS, capacities=caps
    ).solve()
    assert model.selected == ["west", "middle"] and model.objective == pytest.approx(6.0)
    assert model.coverage.per_demand["covered_weight"].sum() == pytest.approx(6.0)
    assert model.coverage.share == pytest.approx(1.0)
    model = CapacitatedCoverage.from_cost_matrix(
        LINE_COST, weights=weights, k=2, max_minutes=3, facility_ids=LINE_IDS, capacities=caps, locked=["east"]
    ).solve()
    assert model.selected == ["middle", "east"] and model.objective == pytest.approx(5.0)


def max_flow_served(
    cost: np.ndarray, weights: np.ndarray, caps: np.ndarray, sites: tuple[int, ...], minutes: float
) -> float:
    graph = nx.DiGraph()
    for i, w in enumerate(weights):
        graph.add_edge("s", ("d", i), capacity=float(w))
    for j in sites:
        graph.add_edge(("f", j), "t", capacity=float(caps[j]))
        for i in np.flatnonzero(cost[:, j] <= minutes):
            graph.add_edge(("d", int(i)), ("f", j))
    return nx.maximum_flow_value(graph, "s", "t") if graph.has_node("t") else 0.0


def test_capacitated_matches_brute_force_max_flow_on_bexley(bexley: Instance) -> None:
    """Every 3-site choice among 8 real venues, each scored by networkx max-flow."""
    rows = np.arange(0, bexley.cost.shape[0], 20)
    cols = list(range(0, len(bexley.facility_ids), 6))
    cost = bexley.cost[np.ix_(rows, cols)]
    weights = 1.0 + (rows % 3)
    caps = np.array([20.0, 12.0, 30.0, 15.0, 25.0, 18.0, 22.0, 10.0])[: len(cols)]
    ids = [bexley.facility_ids[c] for c in cols]
    best = max(max_flow_served(cost, weights, caps, sites, 20) for sites in itertools.combinations(range(len(cols)), 3))
    model = CapacitatedCoverage.from_cost_matrix(
        cost, weights=weights, k=3, max_minutes=20, facility_ids=ids, capacities=caps
    ).solve()
    assert model.objective == pytest.approx(best)
    chosen = tuple(ids.index(f) for f in model.selected)
    assert max_flow_served(cost, weights, caps, chosen, 20) == pytest.approx(model.objective)
    locked = (ids[0],)
    best_locked = max(
        max_flow_served(cost, weights, caps, sites, 20)
        for sites in itertools.combinations(range(len(cols)), 3)
        if 0 in sites
    )
    model = CapacitatedCoverage.from_cost_matrix(
        cost, weights=weights, k=3, max_minutes=20, facility_ids=ids, capacities=caps, locked=locked
    ).solve()
    assert model.objective == pytest.approx(best_locked) and ids[0] in model.selected


def test_pmedian_matches_brute_force_with_unreachable_pairs(bexley_small: Instance) -> None:
    """A 70-minute cutoff leaves 6 postcodes unreachable and only 2 of the 56 choices of 3 sites
    (of 8) serving all the rest; enumerate them all."""
    cols = list(range(0, len(bexley_small.facility_ids), 6))
    cost = np.where(bexley_small.cost[:, cols] <= 70, bexley_small.cost[:, cols], np.inf)
    reachable = np.isfinite(cost).any(axis=1)
    best = np.inf
    for sites in itertools.combinations(range(len(cols)), 3):
        nearest = cost[:, list(sites)].min(axis=1)
        if np.isfinite(nearest[reachable]).all():
            best = min(best, float((bexley_small.weights[reachable] * nearest[reachable]).sum()))
    assert np.isfinite(best)
    model = PMedian.from_cost_matrix(cost, weights=bexley_small.weights, k=3).solve()
    assert model.objective == pytest.approx(best)
    assert model.coverage.per_demand["facility_id"].isna().sum() == (~reachable).sum()
    # max_minutes only sets the coverage standard: same sites, share within 20 minutes
    standard = PMedian.from_cost_matrix(cost, weights=bexley_small.weights, k=3, max_minutes=20).solve()
    assert standard.objective == pytest.approx(best)
    within = model.coverage.per_demand["minutes"] <= 20
    assert standard.coverage.covered_weight == pytest.approx(bexley_small.weights[within.to_numpy()].sum())


# ---------------------------------------------------------------- study area
@pytest.fixture(scope="module")
def bexley_area(mirror: Path):
    from geoplan.studyarea import load_study_area

    return load_study_area(data_dir=mirror)


@dataclass
class CrowFlyMatrix:
    """Duck-typed stand-in for traveltime.TravelTimeMatrix built from the study area's own points."""

    origin_ids: list[str]
    destination_ids: list[str]
    minutes: np.ndarray


def area_crowfly(area) -> CrowFlyMatrix:
    located = area.venues[area.venues["located"]]
    xy_o = np.column_stack([area.children.geometry.x, area.children.geometry.y])
    xy_d = np.column_stack([located.geometry.x, located.geometry.y])
    # reversed destination order: from_workspace must realign columns by id
    return CrowFlyMatrix(
        list(area.children["origin_id"]), list(located["venue_id"])[::-1], crowfly_minutes(xy_o, xy_d)[:, ::-1]
    )


def test_from_workspace_equals_cost_matrix_model(bexley_area) -> None:
    matrix = area_crowfly(bexley_area)
    lock = ["cc-west-street", "cc-northumberland-heath"]
    model = MaximalCovering.from_workspace(
        Workspace(bexley_area), travel_times=matrix, k=5, minutes=15, lock=lock, deprivation_weight=1.0
    ).solve()
    assert set(lock) <= set(model.selected)
    assert set(model.candidates["kind"]) <= {
        "childrens_centre",
        "send_hub",
        "early_years_site",
        "library",
        "community_centre",
        "faith_hall",
        "leisure_centre",
    }
    children = bexley_area.children
    weights = children["children_0_4"].to_numpy(float) * (1 + (10 - children["idaci_decile"].to_numpy(float)) / 9)
    cols = [matrix.destination_ids.index(v) for v in model.problem.facility_ids]
    reference = spopt_mclp(
        Instance(matrix.minutes[:, cols], weights, model.problem.facility_ids, model.problem.demand_ids),
        k=5,
        minutes=15,
        locked=tuple(lock),
    )
    assert model.objective == pytest.approx(reference)
    assert model.coverage.total_weight == pytest.approx(weights.sum())


def test_from_workspace_with_real_travel_times(bexley_area) -> None:
    lock = ["cc-west-street"]
    model = PMedian.from_workspace(
        Workspace(bexley_area), k=3, minutes=15, lock=lock, candidate_kinds=["childrens_centre", "send_hub"]
    )
    model.solve()
    assert model.status == "optimal" and set(lock) <= set(model.selected)
    assert set(model.candidates["kind"]) == {"childrens_centre", "send_hub"}
    cost, weights = model.problem.cost, model.problem.weights
    reachable = np.isfinite(cost).any(axis=1)
    best = np.inf
    for sites in itertools.combinations(range(cost.shape[1]), 3):
        nearest = cost[:, list(sites)].min(axis=1)[reachable]
        if set(model.problem.locked) <= set(sites) and np.isfinite(nearest).all():
            best = min(best, float((weights[reachable] * nearest).sum()))
    assert model.objective == pytest.approx(best)


def test_from_workspace_capacities_and_errors(bexley_area) -> None:
    matrix = area_crowfly(bexley_area)
    workspace = Workspace(bexley_area)
    with pytest.raises(InputError, match="no session capacity recorded"):
        CapacitatedCoverage.from_workspace(workspace, travel_times=matrix, k=3, minutes=15)
    model = CapacitatedCoverage.from_workspace(
        workspace, travel_times=matrix, k=3, minutes=15, capacities=300.0, candidate_kinds=["library"]
    ).solve()
    assert model.objective <= 900 + 1e-6 and len(model.selected) == 3
    with pytest.raises(InputError, match="locked venue 'nowhere'"):
        MaximalCovering.from_workspace(workspace, travel_times=matrix, k=3, minutes=15, lock=["nowhere"])
    with pytest.raises(InputError, match="no venue of kind 'castle'"):
        MaximalCovering.from_workspace(workspace, travel_times=matrix, k=3, minutes=15, candidate_kinds=["castle"])
    wrong = CrowFlyMatrix(matrix.origin_ids[:-1], matrix.destination_ids, matrix.minutes[:-1])
    with pytest.raises(InputError, match="not a row of the travel-time matrix"):
        MaximalCovering.from_workspace(workspace, travel_times=wrong, k=3, minutes=15)
    projected = bexley_area.children
    try:
        bexley_area.children = projected.to_crs("EPSG:4326")
        with pytest.raises(InputError, match="must be in EPSG:27700"):
            MaximalCovering.from_workspace(workspace, travel_times=matrix, k=3, minutes=15)
    finally:
        bexley_area.children = projected


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 1, "locked": ["west", "east"]}, "k=1 is fewer than the 2 locked sites"),
        ({"k": 4}, "k=4 is more than the 3 candidate sites"),
        ({"k": 0}, "k must be at least 1"),
        ({"k": 2, "locked": ["north"]}, "locked site 'north' is not a candidate"),
        ({"k": 2, "weights": [1.0, -1.0, 1.0, 1.0]}, "row 1.*non-negative"),
        ({"k": 2, "weights": [1.0, 1.0]}, "2 weights for 4 demand rows"),
        ({"k": 2, "max_minutes": 0}, "minutes must be positive"),
        ({"k": 2, "max_minutes": None}, "needs max_minutes"),
        ({"k": 2, "facility_ids": ["a", "b"]}, "2 facility_ids for 3 cost-matrix columns"),
    ],
)
def test_bad_inputs_give_one_line_errors(kwargs: dict, message: str) -> None:
    args = {"weights": np.ones(4), "max_minutes": 1.0, "facility_ids": LINE_IDS} | kwargs
    with pytest.raises(InputError, match=message) as info:
        MaximalCovering.from_cost_matrix(LINE_COST, **args)
    assert "\n" not in str(info.value)


def test_bad_matrices_and_capacities() -> None:
    with pytest.raises(InputError, match="candidate set is empty"):
        PMedian.from_cost_matrix(np.zeros((3, 0)), weights=np.ones(3), k=1)
    with pytest.raises(InputError, match="NaN"):
        PMedian.from_cost_matrix(np.array([[1.0, np.nan]]), weights=[1.0], k=1)
    with pytest.raises(InputError, match="needs capacities"):
        CapacitatedCoverage.from_cost_matrix(LINE_COST, weights=np.ones(4), k=1, max_minutes=1)
    with pytest.raises(InputError, match="capacity of site 'middle'"):
        CapacitatedCoverage.from_cost_matrix(
            LINE_COST, weights=np.ones(4), k=1, max_minutes=1, facility_ids=LINE_IDS, capacities=[1, -1, 1]
        )
    cost = np.array([[1.0, np.inf], [np.inf, 1.0]])
    with pytest.raises(InputError, match="no choice of k=1 sites"):
        PMedian.from_cost_matrix(cost, weights=[1.0, 1.0], k=1).solve()


# ---------------------------------------------------------------- CLI
def test_cli_rejects_unknown_model(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from geoplan.cli import main

    monkeypatch.setattr("sys.argv", ["geoplan", "optimise", "--model", "pcentre"])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown model 'pcentre'" in err


def test_cli_optimise_json(mirror: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from geoplan.cli import app

    monkeypatch.setenv("GEOPLAN_DATA", str(mirror))
    monkeypatch.setattr("geoplan.settings.data_dir", mirror)
    args = [
        "optimise",
        "--model",
        "mclp",
        "--k",
        "5",
        "--minutes",
        "15",
        "--lock",
        "cc-west-street",
        "--candidates",
        "childrens_centre,library",
        "--json",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["status"] == "optimal" and len(payload["selected"]) == 5
    locked = [site["facility_id"] for site in payload["selected"] if site["locked"]]
    assert locked == ["cc-west-street"]
    assert {site["kind"] for site in payload["selected"]} <= {"childrens_centre", "library"}
    assert payload["objective"] == pytest.approx(payload["covered_weight"])


@pytest.mark.parametrize(
    ("cls", "extra"),
    [
        (PMedian, {}),
        (MaximalCovering, {"max_minutes": 1.0}),
        (CapacitatedCoverage, {"max_minutes": 1.0, "capacities": [1.0, 1.0, 1.0]}),
    ],
)
def test_degenerate_instances(cls: type, extra: dict) -> None:
    # no demand at all: any k sites, nothing covered
    model = cls.from_cost_matrix(LINE_COST, weights=np.zeros(4), k=2, facility_ids=LINE_IDS, **extra).solve()
    assert len(model.selected) == 2 and model.objective == 0 and model.coverage.share == 0
    # every site locked: nothing to choose, the objective is the locked sites' own
    model = cls.from_cost_matrix(
        LINE_COST, weights=np.ones(4), k=2, facility_ids=LINE_IDS, locked=["west", "east"], **extra
    ).solve()
    assert model.selected == ["west", "east"] and model.status == "optimal"
    expected = {PMedian: 2.0, MaximalCovering: 4.0, CapacitatedCoverage: 2.0}[cls]
    assert model.objective == pytest.approx(expected)
    assert sum(site["covered_weight"] for site in model.to_dict()["selected"]) == pytest.approx(
        model.coverage.covered_weight
    )


# ---------------------------------------------------------------- p-median against enumeration
def brute_force_pmedian(cost: np.ndarray, weights: np.ndarray, k: int, locked: tuple[int, ...] = ()) -> float:
    reachable = np.isfinite(cost).any(axis=1)
    best = np.inf
    for sites in itertools.combinations(range(cost.shape[1]), k):
        if not set(locked) <= set(sites):
            continue
        nearest = cost[:, list(sites)].min(axis=1)[reachable]
        if np.isfinite(nearest).all():
            best = min(best, float((weights[reachable] * nearest).sum()))
    return best


@pytest.mark.parametrize(("k", "locked"), [(4, ()), (5, ("3",)), (6, ()), (7, ("0", "11"))])
def test_pmedian_matches_enumeration_on_newport_subsets(newport: Instance, k: int, locked: tuple[str, ...]) -> None:
    """Every k-subset of 12 Newport community venues, 40-minute cutoff (some pairs unreachable)."""
    cols = np.linspace(0, len(newport.facility_ids) - 1, 12).astype(int)
    cost = np.where(newport.cost[:, cols] <= 40, newport.cost[:, cols], np.inf)
    best = brute_force_pmedian(cost, newport.weights, k, tuple(int(s) for s in locked))
    assert np.isfinite(best)
    model = PMedian.from_cost_matrix(cost, weights=newport.weights, k=k, locked=locked).solve()
    assert model.status == "optimal" and model.gap == 0
    assert model.objective == pytest.approx(best, rel=1e-9)
    assert model.bound == pytest.approx(best, rel=1e-6) and model.bound <= model.objective * (1 + 1e-12)
    assert set(locked) <= set(model.selected) and len(model.selected) == k


def test_pmedian_time_limit_keeps_a_valid_bound(bexley: Instance) -> None:
    """However the time limit cuts it short, the solution is real and the bound below the optimum."""
    exact = PMedian.from_cost_matrix(bexley.cost, weights=bexley.weights, k=8, facility_ids=bexley.facility_ids).solve()
    short = PMedian.from_cost_matrix(bexley.cost, weights=bexley.weights, k=8, facility_ids=bexley.facility_ids).solve(
        time_limit_s=0.01
    )
    assert exact.status == "optimal"
    assert short.status in {"optimal", "time_limit"} and len(short.selected) == 8
    chosen = [bexley.facility_ids.index(f) for f in short.selected]
    assert short.objective == pytest.approx(float(bexley.cost[:, chosen].min(axis=1).sum()))
    assert short.bound <= exact.objective * (1 + 1e-9) <= short.objective * (1 + 1e-9)
    assert short.gap == pytest.approx((short.objective - short.bound) / short.objective, abs=1e-12)
    assert (short.status == "optimal") == (short.gap == 0)


# ---------------------------------------------------------------- from_geodataframe
@pytest.fixture(scope="module")
def bexley_layers(
    bexley_small: Instance, bexley_postcodes: pd.DataFrame, bexley_venues: pd.DataFrame
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    rows = np.arange(0, len(bexley_postcodes), 15)
    demand = gpd.GeoDataFrame(
        {"postcode": bexley_postcodes["Postcode"].iloc[rows].to_numpy(), "children": bexley_small.weights},
        geometry=gpd.points_from_xy(bexley_postcodes["Eastings"].iloc[rows], bexley_postcodes["Northings"].iloc[rows]),
        crs="EPSG:27700",
    )
    sites = gpd.GeoDataFrame(
        {"venue_id": bexley_venues["venue_id"]},
        geometry=gpd.points_from_xy(bexley_venues["easting"], bexley_venues["northing"]),
        crs="EPSG:27700",
    )
    return demand, sites


def test_from_geodataframe_equals_cost_matrix_model(
    bexley_small: Instance, bexley_layers: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]
) -> None:
    demand, sites = bexley_layers
    # 1.3 circuity at 4 km/h is the crow-fly of the cost-matrix instance
    args = {
        "weights_column": "children",
        "k": 4,
        "circuity": CIRCUITY,
        "profile": 4.0,
        "facility_id_column": "venue_id",
        "demand_id_column": "postcode",
    }
    model = PMedian.from_geodataframe(demand, sites, **args).solve()
    assert model.objective == pytest.approx(spopt_pmedian(bexley_small, k=4), rel=1e-9)
    assert (
        model.problem.demand_ids == bexley_small.demand_ids and model.problem.facility_ids == bexley_small.facility_ids
    )
    mclp = MaximalCovering.from_geodataframe(demand, sites, max_minutes=15, **args | {"locked": ["cc-danson"]}).solve()
    assert mclp.objective == pytest.approx(spopt_mclp(bexley_small, k=4, minutes=15, locked=("cc-danson",)))


def test_from_geodataframe_crs_errors(bexley_layers: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]) -> None:
    demand, sites = bexley_layers
    args = {"weights_column": "children", "k": 2}
    with pytest.raises(InputError, match=r"demand is in EPSG:4326 but facilities are in EPSG:27700; reproject"):
        PMedian.from_geodataframe(demand.to_crs("EPSG:4326"), sites, **args)
    with pytest.raises(InputError, match=r"layers are in EPSG:4326 \(degrees\)"):
        PMedian.from_geodataframe(demand.to_crs("EPSG:4326"), sites.to_crs("EPSG:4326"), **args)
    with pytest.raises(InputError, match="facilities layer has no CRS"):
        PMedian.from_geodataframe(demand, sites.set_crs(None, allow_override=True), **args)
    with pytest.raises(InputError, match="demand layer has no column 'kids'"):
        PMedian.from_geodataframe(demand, sites, weights_column="kids", k=2)
    with pytest.raises(InputError, match="circuity factor must be at least 1"):
        PMedian.from_geodataframe(demand, sites, circuity=0.5, **args)
