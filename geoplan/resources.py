"""Files geoplan ships: layer catalogues, scenarios and the planner app.

Found the same way in a source checkout and in an installed wheel, so nothing depends on where
the package was installed from.
"""

from __future__ import annotations

from pathlib import Path

from geoplan import settings


def layers_dir() -> Path:
    """The folder of shipped layer catalogues (``*.yaml``)."""
    return settings.project_root / "layers"


def scenarios_dir() -> Path:
    """The folder of shipped scenario files (``*.yaml``)."""
    return settings.project_root / "scenarios"


def app_file() -> Path:
    """The Panel planner app script."""
    return settings.project_root / "apps" / "planner.py"
