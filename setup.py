"""Build hook: a wheel carries the repository's top-level ``layers/``, ``scenarios/`` and ``apps/``.

They stay at the top of the repository, where planners read and copy them, and are copied into
``geoplan/shipped/`` of the built package, where :mod:`geoplan.resources` finds them. Everything
else about the package is in ``pyproject.toml``.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED_FOLDERS = ("layers", "scenarios", "apps")
SKIPPED_PARTS = {"__pycache__", ".ipynb_checkpoints"}


class BuildWithShippedFolders(build_py):
    """``build_py`` that also copies the shipped top-level folders into ``geoplan/shipped/``."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return  # an editable install reads them from the checkout itself
        for name in SHIPPED_FOLDERS:
            for path in sorted(Path(name).rglob("*")):
                if path.is_file() and not SKIPPED_PARTS.intersection(path.parts) and path.suffix != ".pyc":
                    target = Path(self.build_lib) / "geoplan" / "shipped" / path
                    self.mkpath(str(target.parent))
                    self.copy_file(str(path), str(target))


setup(cmdclass={"build_py": BuildWithShippedFolders})
