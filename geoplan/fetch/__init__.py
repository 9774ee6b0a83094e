"""Getting the open data: download from the publishers, import from a local folder, the manifest.

``fetch_sources`` downloads each :data:`geoplan.sources.SOURCES` entry from its publisher
(:mod:`~geoplan.fetch.http`, :mod:`~geoplan.fetch.arcgis`), checks it and cuts national files down
to the local authority plus a margin (:mod:`~geoplan.fetch.checks`, :mod:`~geoplan.fetch.window`)
before moving the result into ``<cache>/sources/``, recording where it came from
(:mod:`~geoplan.fetch.provenance`). ``import_sources`` copies the same files from a local folder
(:mod:`~geoplan.fetch.importer`); ``ensure_sources`` gets what a study area lacks. Nothing
half-done ever reaches ``<cache>/sources/``: downloads stream into a hidden ``.partial/`` folder
and every output is written through :func:`geoplan.fileio.atomic_path`.
"""

from __future__ import annotations

from geoplan.fetch.download import catalogue_for, ensure_sources, fetch_sources, needed_sources
from geoplan.fetch.importer import ImportReport, import_sources
from geoplan.fetch.manifest import FETCH_ORDER, manifest_markdown, manifest_rows
from geoplan.fetch.provenance import FetchResult, read_provenance, sources_dir
from geoplan.fetch.window import AreaWindow, area_window

__all__ = [
    "FETCH_ORDER",
    "AreaWindow",
    "FetchResult",
    "ImportReport",
    "area_window",
    "catalogue_for",
    "ensure_sources",
    "fetch_sources",
    "import_sources",
    "manifest_markdown",
    "manifest_rows",
    "needed_sources",
    "read_provenance",
    "sources_dir",
]
