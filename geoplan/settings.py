"""Module-level settings, osmnx-style: change them at run time with ``geoplan.settings.NAME = value``.

Environment variables give the defaults where a deployment needs to set them without code:
``GEOPLAN_DATA`` (a local mirror of the source files), ``GEOPLAN_CACHE`` (the download and
result cache) and ``GEOPLAN_OVERPASS_URL``.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from geoplan import resources

#: Layer catalogue used when a command is given no ``--area`` (shipped with the package).
default_area: Path = resources.layers_dir() / "bexley.yaml"

#: Folder holding local copies of the source files (the folder holding ``raw/``, or the files
#: themselves); ``None`` means the imported cache, then the embedded default area, then a download.
data_dir: Path | None = Path(os.environ["GEOPLAN_DATA"]) if os.environ.get("GEOPLAN_DATA") else None

#: Whether the open data the package embeds for its default study area is used (when no mirror is
#: configured and the cache lacks a file); turned off, such an area is downloaded like any other.
use_embedded_data: bool = True

#: Where downloaded and imported sources, built networks and travel-time matrices are cached: the
#: user's cache folder, never the checkout or the installed package.
cache_dir: Path = Path(os.environ.get("GEOPLAN_CACHE") or platformdirs.user_cache_dir("geoplan", appauthor=False))

#: Projected CRS for every measurement (British National Grid).
measure_crs: str = "EPSG:27700"

#: Geographic CRS used only for display (web maps) and for coordinates given as lon/lat.
display_crs: str = "EPSG:4326"

#: Seconds to wait for an HTTP response before giving up on a download.
http_timeout_s: float = 30.0

#: Overpass API endpoint used to fetch OpenStreetMap ways.
overpass_url: str = os.environ.get("GEOPLAN_OVERPASS_URL", "https://overpass-api.de/api/interpreter")

#: Seconds an Overpass query may take; a refused connection still fails at once.
overpass_timeout_s: float = 180.0

#: Whether a study area with no walking network falls back to crow-fly estimates.
allow_crowfly_fallback: bool = True

#: Whether progress bars are shown.
show_progress: bool = True

#: Walking speeds (km/h) of the built-in profiles; any other speed can be given as a number.
walk_profiles_kmh: dict[str, float] = {"walk": 4.8, "buggy": 4.0}

#: Extra minutes per flight of steps, by profile name ("custom" for a speed given as a number).
steps_extra_minutes: dict[str, float] = {}

#: Points farther than this (metres) from any walkable edge are flagged, not snapped.
max_snap_m: float = 250.0

#: Margin (metres) added around a study area when its walking network is fetched.
network_margin_m: float = 2000.0

#: Walkable margin (metres) around reached paths that an isochrone polygon includes.
catchment_margin_m: float = 25.0

#: Spacing (metres) of the grid catchment boundaries are interpolated on; the boundary is exact
#: at the grid points, so a finer grid only smooths it (at a cost in time and memory).
catchment_resolution_m: float = 10.0

#: Largest CSV file (bytes) read from a user: venues, sessions, points, registration records, FOI
#: tables; from 1 kB to 2 GB. A borough's files are a few megabytes; a larger file is refused before it
#: fills the memory. The published source files (national, hundreds of megabytes) are not limited.
max_user_csv_bytes: int = 200_000_000

#: Counts of registered or attending children from 1 to this minus one are shown as "X" (FOI practice).
disclosure_threshold: int = 5

#: How many of the highest-need gaps are shown: numbered on the committee map and figure, listed in
#: the report, printed by ``geoplan run`` and (by default) by ``geoplan gaps`` — one number everywhere.
top_gaps: int = 10
