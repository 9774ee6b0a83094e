"""Coverage, gaps and E2SFCA: exact sums on Bexley, an independent check, and PySAL access as reference."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bexley_facts import CENTRES_2025

from geoplan.coverage import (
    E2SFCA_STEPS,
    GapWeights,
    e2sfca,
    find_gaps,
    measure_coverage,
    venue_supply,
)
from geoplan.errors import InputError
from geoplan.programme import baseline_configuration, parse_venue_set

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def centres(bexley):
    return baseline_configuration(bexley).centre_ids


def straight_line_minutes(bexley, venue_ids: list[str]) -> np.ndarray:
    """Independent crow-fly minutes: distance × circuity at buggy pace (4.0 km/h)."""
    venues = bexley.venues.set_index("venue_id").loc[venue_ids]
    origins = np.column_stack([bexley.children.geometry.x, bexley.children.geometry.y])
    targets = np.column_stack([venues.geometry.x, venues.geometry.y])
    distance = np.sqrt(((origins[:, None, :] - targets[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
    return distance * bexley.catalogue.network.crowfly_circuity / (4000 / 60)


def test_baseline_centres_are_the_2025_buildings(centres) -> None:
    assert set(centres) == set(CENTRES_2025)


def test_counts_add_up_exactly_to_the_study_area(bexley, travel_times, centres) -> None:
    result = measure_coverage(bexley, travel_times, venue_ids=centres, bands=(10, 15, 20))
    total = int(bexley.lsoas["children_0_4"].sum())
    assert result.method == "crow-fly"
    for band in (10.0, 15.0, 20.0):
        overall = result.overall.loc[band, "covered"]
        assert result.overall.loc[band, "total"] == total
        for table in (result.by_imd_decile, result.by_idaci_decile, result.by_ward):
            rows = table[table["band"] == band]
            assert rows["covered"].sum() == overall
            assert rows["total"].sum() == total
    most_30 = int(bexley.lsoas.loc[bexley.lsoas["imd_decile"] <= 3, "children_0_4"].sum())
    assert result.most_deprived_30.loc[15.0, "total"] == most_30
    assert "30% most deprived" in result.headline()


def test_coverage_matches_an_independent_crow_fly_count(bexley, travel_times, centres) -> None:
    result = measure_coverage(bexley, travel_times, venue_ids=centres, bands=(15,))
    minutes = straight_line_minutes(bexley, list(centres))
    expected = int(bexley.children.loc[minutes <= 15, "children_0_4"].sum())
    assert result.overall.loc[15.0, "covered"] == expected
    np.testing.assert_allclose(travel_times.minutes_to_nearest(list(centres)), minutes, rtol=1e-12)


def test_more_venues_never_cover_fewer_children(bexley, travel_times) -> None:
    configuration = baseline_configuration(bexley)
    covered = [
        measure_coverage(
            bexley, travel_times, venue_ids=configuration.venue_ids(kinds=parse_venue_set(name)), bands=(15,)
        ).overall.loc[15.0, "covered"]
        for name in ("centres", "centres+libraries", "all")
    ]
    assert covered[0] < covered[1] < covered[2]


def test_equity_ratio_is_the_quintile_share_ratio(bexley, travel_times, centres) -> None:
    result = measure_coverage(bexley, travel_times, venue_ids=centres, bands=(15,))
    deciles = result.by_imd_decile.set_index("imd_decile")
    low = deciles.loc[[1, 2], ["covered", "total"]].sum() if 1 in deciles.index else deciles.loc[[2]].sum()
    high = deciles.loc[[9, 10], ["covered", "total"]].sum()
    assert result.equity_ratio[15.0] == pytest.approx(
        (low["covered"] / low["total"]) / (high["covered"] / high["total"])
    )


def test_gaps_rank_by_need_and_explain_themselves(bexley, travel_times, centres, tmp_path: Path) -> None:
    weights = GapWeights()
    gaps = find_gaps(bexley, travel_times, venue_ids=centres, minutes=15, weights=weights)
    assert gaps.lsoas["need"].is_monotonic_decreasing
    minutes = straight_line_minutes(bexley, list(centres))
    beyond = bexley.children[(minutes > 15) & (bexley.children["children_0_4"] > 0)]
    assert gaps.lsoas["children_beyond"].sum() == beyond["children_0_4"].sum()
    assert gaps.clusters["children_beyond"].sum() == beyond["children_0_4"].sum()
    top = gaps.lsoas.iloc[0]
    members = beyond[beyond["lsoa_code"] == top["lsoa_code"]]
    excess = minutes[members.index] - 15
    weight = 1 + 0.25 * max(0, 5 - int(top["idaci_decile"]))
    assert top["need"] == pytest.approx((members["children_0_4"] * excess).sum() * weight)
    assert top["nearest_name"] in top["reason"]
    out = tmp_path / "gaps.gpkg"
    gaps.write(out, tmp_path / "gaps.csv")
    assert len(pd.read_csv(tmp_path / "gaps.csv")) == len(gaps.lsoas)


def test_e2sfca_equals_pysal_access(bexley, travel_times) -> None:
    access = pytest.importorskip("access")
    configuration = baseline_configuration(bexley)
    venue_ids = [venue for venue in configuration.venue_ids() if venue in set(travel_times.destination_ids)]
    supply = venue_supply(configuration, venue_ids)
    supply = supply[supply > 0]
    ours = e2sfca(bexley, travel_times, supply=supply)

    position = {venue: index for index, venue in enumerate(travel_times.destination_ids)}
    rows = []
    for venue in supply.index:
        column = travel_times.minutes[:, position[venue]]
        for origin, minutes in zip(bexley.children["origin_id"], column, strict=True):
            if np.isfinite(minutes):
                rows.append((origin, venue, float(minutes)))
    cost = pd.DataFrame(rows, columns=["origin", "dest", "minutes"])
    demand = bexley.children[["origin_id", "children_0_4"]].set_index("origin_id")
    supply_frame = supply.rename("supply").to_frame()
    model = access.Access(
        demand_df=demand,
        demand_value="children_0_4",
        supply_df=supply_frame,
        supply_value="supply",
        cost_df=cost,
        cost_origin="origin",
        cost_dest="dest",
        cost_name="minutes",
    )
    weight_fn = access.weights.step_fn({bound: weight for bound, weight in E2SFCA_STEPS})
    theirs = model.enhanced_two_stage_fca(
        name="e2sfca", weight_fn=weight_fn, max_cost=E2SFCA_STEPS[-1][0], normalize=False
    )
    theirs = theirs.iloc[:, 0].reindex(ours.index).fillna(0.0)
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-9, atol=1e-12)
    assert ours.max() > 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda a, t, c: measure_coverage(a, t, venue_ids=c, bands=(0,)), "positive number of minutes"),
        (lambda a, t, c: measure_coverage(a, t, venue_ids=c, bands=(-5,)), "positive number of minutes"),
        (lambda a, t, c: measure_coverage(a, t, venue_ids=[], bands=(15,)), "venue set is empty"),
        (lambda a, t, c: find_gaps(a, t, venue_ids=[], minutes=15), "venue set is empty"),
        (lambda a, t, c: parse_venue_set("castles"), "unknown venue kind"),
    ],
)
def test_bad_inputs_are_one_line_errors(bexley, travel_times, centres, call, message) -> None:
    with pytest.raises(InputError, match=message) as caught:
        call(bexley, travel_times, centres)
    assert "\n" not in str(caught.value)


def test_cli_coverage_json_states_the_method(mirror: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "geoplan.cli", "coverage", "--json", "--minutes", "15"],
        capture_output=True,
        text=True,
        env={"GEOPLAN_DATA": str(mirror), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    payload = json.loads(run.stdout)
    assert payload["method"] == "crow-fly"
    assert payload["overall"][0]["total"] == 15_035
    assert sum(row["covered"] for row in payload["by_ward"]) == payload["overall"][0]["covered"]


def test_cli_unknown_kind_is_one_line(mirror: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "geoplan.cli", "coverage", "--kind", "castles"],
        capture_output=True,
        text=True,
        env={"GEOPLAN_DATA": str(mirror), "PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0 and "unknown venue kind" in run.stderr
