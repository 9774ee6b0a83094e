"""Shared fixtures: the local mirror of real open data, and the default study area."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _mirror_root() -> Path | None:
    candidates = [os.environ.get("GEOPLAN_DATA"), REPO.parent / "shared" / "data"]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


@pytest.fixture(scope="session", autouse=True)
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Caches written during the tests go to the session's temporary folder, not the checkout's ``data/``."""
    from geoplan import settings

    path = tmp_path_factory.getbasetemp() / "geoplan-cache"
    settings.cache_dir = path
    return path


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The local mirror of real data (``$GEOPLAN_DATA`` or ``../shared/data``).

    In CI a missing mirror is a failure, not a skip.
    """
    root = _mirror_root()
    if root is None:
        msg = "local data mirror not found: set GEOPLAN_DATA or place it at ../shared/data"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return root


@pytest.fixture(scope="session")
def osm_dir(mirror: Path) -> Path:
    """Folder of the real OpenStreetMap extracts in the mirror."""
    path = mirror / "raw" / "osm" if (mirror / "raw").is_dir() else mirror / "osm"
    if not path.is_dir():
        pytest.fail(f"OSM extracts missing from the mirror: {path}")
    return path


@pytest.fixture(scope="module")
def bexley(mirror: Path):
    """The default study area (Bexley), loaded from the mirror once per test module."""
    from geoplan.studyarea import load_study_area

    return load_study_area(REPO / "layers" / "bexley.yaml", data_dir=mirror)


@pytest.fixture(scope="module")
def travel_times(bexley):
    """Bexley origin × venue minutes at buggy pace (crow-fly offline)."""
    from geoplan.traveltime import study_area_travel_times

    return study_area_travel_times(bexley, profile="buggy")
