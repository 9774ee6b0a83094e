"""Files geoplan ships: layer catalogues, scenarios, the planner app, the source manifest and embedded data.

The repository keeps ``layers/``, ``scenarios/``, ``apps/`` and the manifest of sources
(``data/boundaries/sources.yaml``) where planners read and copy them; a wheel carries them inside
the package under ``geoplan/shipped/`` at the same relative paths (``setup.py`` copies them there
at build time, keeping them siblings so a scenario's ``base: ../layers/...`` still resolves).
Everything is found through :mod:`importlib.resources`, so a source checkout, an editable install
and a wheel installed anywhere behave alike.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

#: Folder of the installed package holding the repository's top-level shipped folders.
SHIPPED_DIR = "shipped"
#: The manifest of official open-data sources, relative to the repository.
SOURCES_MANIFEST = "data/boundaries/sources.yaml"
#: Folders and files of the repository that a wheel carries under :data:`SHIPPED_DIR` (same relative paths).
SHIPPED_PATHS = ("layers", "scenarios", "apps", SOURCES_MANIFEST)
#: Folder of the package holding the embedded default study areas' open data (one folder per area).
EMBEDDED_DATA_DIR = "data"
#: File names the planner app has had, newest first.
APP_FILE_NAMES = ("planner_app.py", "planner.py")


def _package_dir() -> Path:
    return Path(str(importlib.resources.files("geoplan")))


def _shipped(name: str) -> Path:
    installed = _package_dir() / SHIPPED_DIR / name
    if installed.exists():
        return installed
    # A source checkout or an editable install: the repository's own top-level folder.
    return _package_dir().parent / name


def layers_dir() -> Path:
    """The folder of shipped layer catalogues (``*.yaml``)."""
    return _shipped("layers")


def scenarios_dir() -> Path:
    """The folder of shipped scenario files (``*.yaml``)."""
    return _shipped("scenarios")


def app_file() -> Path:
    """The Panel planner app script."""
    folder = _shipped("apps")
    for name in APP_FILE_NAMES:
        if (folder / name).is_file():
            return folder / name
    return folder / APP_FILE_NAMES[0]


def sources_manifest() -> Path:
    """The manifest of official open-data sources (``data/boundaries/sources.yaml``)."""
    return _shipped(SOURCES_MANIFEST)


def embedded_data_dir() -> Path:
    """The folder of embedded default study-area data (``<area>/PROVENANCE.yaml`` and its files)."""
    return _package_dir() / EMBEDDED_DATA_DIR
