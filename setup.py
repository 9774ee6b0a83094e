"""Build hook: a wheel carries the repository's ``layers/``, ``scenarios/``, ``apps/`` and source manifest.

They stay where they are in the repository, where planners read and copy them, and are copied into
``geoplan/shipped/`` of the built package, where :mod:`geoplan.resources` finds them. Everything
else about the package is in ``pyproject.toml``.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

#: As geoplan.resources.SHIPPED_PATHS (a build hook cannot import the package it builds).
SHIPPED_PATHS = ("layers", "scenarios", "apps", "data/boundaries/sources.yaml")
SKIPPED_PARTS = {"__pycache__", ".ipynb_checkpoints"}


class BuildWithShippedFolders(build_py):
    """``build_py`` that also copies the shipped folders and files into ``geoplan/shipped/``."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return  # an editable install reads them from the checkout itself
        for name in SHIPPED_PATHS:
            for path in [Path(name)] if Path(name).is_file() else sorted(Path(name).rglob("*")):
                if path.is_file() and not SKIPPED_PARTS.intersection(path.parts) and path.suffix != ".pyc":
                    target = Path(self.build_lib) / "geoplan" / "shipped" / path
                    self.mkpath(str(target.parent))
                    self.copy_file(str(path), str(target))


setup(cmdclass={"build_py": BuildWithShippedFolders})
