"""A planner installs geoplan from a wheel on a fresh machine, and the main job runs offline.

The wheel is built from a copy of the source tree (nothing is written into the checkout) and
installed with ``--no-deps`` into a new virtual environment in a temporary folder that sees the
test environment's dependencies through a ``.pth`` line, so nothing is downloaded. Then, with a
temporary HOME, no ``GEOPLAN_DATA``, no ``GEOPLAN_CACHE`` and no network (``unshare -n``, or
proxies that refuse every connection where unsharing is not permitted), ``geoplan run`` runs in
an empty folder on the data embedded in the package.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
#: Top-level folders that are not part of a source distribution: version control, environments,
#: build output, caches and results (``data/boundaries/sources.yaml``, the manifest of sources, goes into the wheel).
NOT_SOURCE = {".git", ".venv", "build", "dist", "geoplan.egg-info", ".pytest_cache", "out"}
#: Files ``geoplan run`` writes for the default area.
RUN_OUTPUTS = ("bexley-gaps.gpkg", "bexley-gaps.csv", "bexley-map.html", "bexley-map.png", "bexley-report.html")
#: A proxy address nothing listens on: every HTTP(S) request fails at once.
REFUSING_PROXY = "http://127.0.0.1:9"
#: Seconds any one step may take before the test fails rather than hangs.
STEP_TIMEOUT_S = 600


def _offline_prefix() -> list[str]:
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True, check=False).returncode == 0:
        return [unshare, "-n"]
    return []


def _run(command: list[str], *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT_S, check=False
    )
    assert result.returncode == 0, f"{' '.join(command)} exited {result.returncode}:\n{result.stderr[-3000:]}"
    return result


def _files(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file() and path.suffix != ".pyc"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the geoplan wheel installed; returns its ``bin`` folder."""
    root = tmp_path_factory.mktemp("install")
    source = root / "source"

    def ignore(folder: str, names: list[str]) -> set[str]:
        top = NOT_SOURCE if Path(folder) == REPO else set()
        return {name for name in names if name in top or name == "__pycache__"}

    shutil.copytree(REPO, source, ignore=ignore)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GEOPLAN_", "PIP_"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    wheels = root / "wheels"
    # No build isolation: the test environment's setuptools builds the wheel, with no download.
    pip = [sys.executable, "-m", "pip"]
    _run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(source)], cwd=root, env=env)
    [wheel] = wheels.glob("geoplan-*.whl")
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=root, env=env)
    python = venv / "bin" / "python"
    where = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=root, env=env)
    purelib = Path(where.stdout.strip())
    # The dependencies come from the test environment; geoplan itself only from the wheel.
    (purelib / "test-environment-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _run([*pip, "--python", str(python), "install", "--no-deps", "-q", str(wheel)], cwd=root, env=env)
    return venv / "bin"


def test_wheel_runs_the_main_job_offline_in_an_empty_folder(installed: Path, tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "empty"
    home.mkdir()
    work.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GEOPLAN_", "XDG_"))}
    env.update(HOME=str(home), PATH=f"{installed}{os.pathsep}{env.get('PATH', '')}")
    for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env[proxy] = REFUSING_PROXY
    env.pop("no_proxy", None)
    env.pop("NO_PROXY", None)
    site_packages = installed.parent / "lib"
    installed_before = _files(site_packages)
    offline = _offline_prefix()
    geoplan = [*offline, str(installed / "geoplan")]

    run = _run([*geoplan, "run"], cwd=work, env=env)
    summary = json.loads(_run([*geoplan, "area", "summary", "--json"], cwd=work, env=env).stdout)

    scenario = json.loads(
        _run([*geoplan, "scenario", "run", "bexley-2021-adopted", "--json"], cwd=work, env=env).stdout
    )
    cache = json.loads(_run([*geoplan, "cache", "info", "--json"], cwd=work, env=env).stdout)

    for name in RUN_OUTPUTS:
        assert (work / "out" / name).stat().st_size > 0, name
    assert "Data from: embedded default" in run.stdout
    assert summary["lsoas"]["count"] == 148
    assert summary["wards"]["count"] == 17
    assert summary["children_0_4"]["total"] == 15_035
    assert summary["children_0_4_in_imd_deciles_1_to_3"]["total"] == 3_172
    [data_from] = summary["data_from"]
    assert data_from.startswith("embedded default") and str(site_packages) in data_from
    # Caches went to the user's cache folder; nothing was written into the installed package.
    assert any((home / ".cache" / "geoplan").rglob("*.npz"))
    assert Path(cache["folder"]) == home / ".cache" / "geoplan" and cache["kinds"]["traveltimes"]["files"] >= 1
    assert "written" not in scenario and Path(scenario["after"]["file"]).is_relative_to(site_packages)
    assert _files(site_packages) == installed_before
    assert sorted(path.name for path in work.iterdir()) == ["out"]


def test_wheel_finds_catalogues_scenarios_and_app_inside_the_package(installed: Path, tmp_path: Path) -> None:
    python = installed / "python"
    script = (
        "import json, geoplan; from geoplan import resources, settings; print(json.dumps({"
        "'package': geoplan.__file__, 'layers': str(resources.layers_dir()), 'scenarios': "
        "sorted(p.name for p in resources.scenarios_dir().glob('*.yaml')), 'app': str(resources.app_file()), "
        "'app_exists': resources.app_file().is_file(), 'area': str(settings.default_area), "
        "'sources': str(resources.sources_manifest())}))"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("GEOPLAN_")}
    found = json.loads(_run([str(python), "-c", script], cwd=tmp_path, env=env).stdout)
    package = Path(found["package"]).parent
    assert package.is_relative_to(installed.parent), found["package"]
    assert Path(found["layers"]) == package / "shipped" / "layers"
    assert Path(found["area"]).is_file() and Path(found["area"]).parent == Path(found["layers"])
    assert found["scenarios"] == sorted(path.name for path in (REPO / "scenarios").glob("*.yaml"))
    assert found["app_exists"] and Path(found["app"]).is_relative_to(package)
    assert Path(found["sources"]) == package / "shipped" / "data" / "boundaries" / "sources.yaml"


def _command_paths(command: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [path]
    for name, subcommand in getattr(command, "commands", {}).items():
        paths += _command_paths(subcommand, (*path, name))
    return paths


def test_help_pages_list_the_main_job_first_without_type_tags_or_cut_text() -> None:
    import typer.main
    from typer.testing import CliRunner

    from geoplan.cli import app

    runner = CliRunner()
    top = runner.invoke(app, ["--help"]).output
    commands = [line.split()[1] for line in top.splitlines() if line.startswith("│ ") and line.split()[1].isalpha()]
    assert commands[0] == "run", top
    paths = _command_paths(typer.main.get_command(app))
    assert len(paths) > 20 and ("cache", "info") in paths and ("cache", "clear") in paths
    for path in paths:
        page = runner.invoke(app, [*path, "--help"], prog_name="geoplan").output
        assert f"Usage: {' '.join(('geoplan', *path))} [OPTIONS]" in page, page
        for tag in ("<bool>", "<path>", "<str>", "<int>", "<float>", "{file}", "{directory}", "…"):
            assert tag not in page, f"geoplan {' '.join(path)} --help shows {tag!r}"
