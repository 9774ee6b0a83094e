"""Many areas at once on a Dask LocalCluster: one row per area, failures reported, the rest carry on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
from distributed import LocalCluster

from geoplan import settings
from geoplan.batch import FAILED, OK, run_batch
from geoplan.coverage import find_gaps, measure_coverage
from geoplan.errors import InputError
from geoplan.programme import parse_venue_set
from geoplan.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
BEXLEY = REPO / "layers" / "bexley.yaml"
NEW_SOUTHGATE = REPO / "layers" / "new-southgate.yaml"
BROKEN_YAML = "area:\n  name: Broken\n  la_code: [E09000004\n"


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A catalogue whose YAML does not parse (an unclosed list on line 3)."""
    path = tmp_path_factory.mktemp("areas") / "broken.yaml"
    path.write_text(BROKEN_YAML)
    return path


@pytest.fixture(scope="module")
def catalogues(broken: Path) -> list[Path]:
    areas = [BEXLEY, broken]
    if NEW_SOUTHGATE.exists():
        areas.insert(1, NEW_SOUTHGATE)
    return areas


@pytest.fixture(scope="module")
def batch(mirror: Path, catalogues: list[Path], tmp_path_factory: pytest.TempPathFactory):
    """Every area on a two-process LocalCluster, reached by its scheduler address."""
    settings.data_dir = mirror
    out = tmp_path_factory.mktemp("batch")
    progress: list[tuple[str, int, int]] = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        result = run_batch(
            catalogues,
            out_dir=out,
            scheduler=cluster.scheduler_address,
            on_done=lambda row, done, total: progress.append((row.catalogue, done, total)),
        )
    return result, out, progress


def test_one_row_per_area_in_the_order_given(batch, catalogues: list[Path]) -> None:
    result, _, progress = batch
    assert [row.catalogue for row in result.areas] == [str(path) for path in catalogues]
    assert list(result.table["catalogue"]) == [str(path) for path in catalogues]
    assert sorted(done for _, done, _ in progress) == list(range(1, len(catalogues) + 1))
    assert {total for _, _, total in progress} == {len(catalogues)}


def test_bexley_row_equals_the_run_in_this_process(batch, mirror: Path) -> None:
    result, out, _ = batch
    row = result.areas[0]
    assert row.status == OK and row.error == "" and row.area == "London Borough of Bexley"
    workspace = Workspace(BEXLEY, data_dir=mirror)
    venue_ids = workspace.baseline().venue_ids(kinds=parse_venue_set("centres"))
    coverage = measure_coverage(workspace.area, workspace.travel_times(), venue_ids=venue_ids)
    assert row.method == workspace.travel_times().method
    assert row.children == pytest.approx(workspace.area.children["children_0_4"].sum())
    assert row.shares == pytest.approx({float(band): share for band, share in coverage.overall["share"].items()})
    gaps = find_gaps(workspace.area, workspace.travel_times(), venue_ids=venue_ids)
    assert row.top_gap.startswith(f"{gaps.lsoas.iloc[0]['lsoa_name']} ({gaps.lsoas.iloc[0]['ward_name']})")
    written = gpd.read_file(out / "bexley-gaps.gpkg", layer="lsoa_gaps")
    assert list(written["lsoa_code"]) == list(gaps.lsoas["lsoa_code"])
    for name in ("bexley-gaps.csv", "bexley-report.html", "bexley-map.html", "bexley-map.png"):
        assert (out / name).stat().st_size > 0, name
    table_row = result.table.iloc[0]
    assert table_row["within_15_min"] == pytest.approx(row.shares[15.0]) and table_row["status"] == OK


def test_broken_catalogue_is_a_failed_row_naming_the_file(batch, broken: Path) -> None:
    result, out, _ = batch
    row = result.areas[-1]
    assert row.status == FAILED and row.area == "" and not row.shares
    assert row.error.startswith(f"{broken}, line ") and "not valid YAML" in row.error
    assert "\n" not in row.error
    assert [failed.catalogue for failed in result.failed] == [r.catalogue for r in result.areas if r.status == FAILED]
    assert not list(out.glob("broken*"))


def test_every_row_is_done_or_has_a_one_line_reason(batch) -> None:
    result, _, _ = batch
    for row in result.areas:
        assert row.status in {OK, FAILED}
        assert (row.status == OK) == (row.error == "") and "\n" not in row.error


def test_default_local_cluster_reports_missing_and_broken_areas(broken: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    result = run_batch([missing, broken], out_dir=tmp_path / "out", steps=["coverage"], n_workers=1)
    assert [row.status for row in result.areas] == [FAILED, FAILED]
    assert str(missing) in result.areas[0].error


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"catalogues": []}, "give at least one area catalogue"),
        ({"catalogues": [BEXLEY, BEXLEY]}, "is given twice"),
        ({"catalogues": [BEXLEY], "steps": ["coverage", "maps"]}, "unknown step 'maps'"),
        ({"catalogues": [BEXLEY], "n_workers": 0}, "workers must be between 1 and 64"),
        (
            {"catalogues": [BEXLEY], "scheduler": "tcp://127.0.0.1:9"},
            "cannot reach the Dask scheduler at tcp://127.0.0.1:9",
        ),
    ],
)
def test_bad_batch_inputs(kwargs: dict, message: str, tmp_path: Path) -> None:
    catalogues = kwargs.pop("catalogues")
    with pytest.raises(InputError, match=message) as info:
        run_batch(catalogues, out_dir=tmp_path, **kwargs)
    assert "\n" not in str(info.value)


def test_cli_batch_prints_the_table_and_exits_1_on_a_failed_area(broken: Path, mirror: Path, tmp_path: Path) -> None:
    env = os.environ | {"GEOPLAN_DATA": str(mirror), "GEOPLAN_CACHE": str(tmp_path / "cache"), "COLUMNS": "200"}
    command = [
        str(Path(sys.executable).parent / "geoplan"),
        "batch",
        str(broken),
        "--steps",
        "coverage",
        "--workers",
        "1",
        "--out",
        str(tmp_path),
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 1, done.stderr
    assert "[1/1] " in done.stderr and "failed:" in done.stderr and "Traceback" not in done.stderr
    assert "not valid YAML" in done.stdout and "Largest gap" in done.stdout
