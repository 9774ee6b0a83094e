"""The one place that assembles a study area's pipeline: area → network → travel times.

A :class:`Workspace` loads the study area, decides between the walking network and the crow-fly
fallback, and computes travel times, each once, lazily, and keeps them. The CLI, the report,
scenarios, the optimiser, outreach and the app receive a workspace instead of assembling their
own, so every consumer of one workspace sees the same area, network and matrices.
"""

from __future__ import annotations

import functools
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from geoplan import settings
from geoplan.errors import NetworkUnavailableError
from geoplan.fetch.http import announce
from geoplan.fetch.provenance import FetchResult
from geoplan.network import WalkNetwork, WalkProfile, get_profile, study_area_network
from geoplan.sources import get_source
from geoplan.studyarea import StudyArea, load_study_area

if TYPE_CHECKING:
    from geoplan.programme import Configuration
    from geoplan.traveltime import TravelTimeMatrix

#: The walking pace used when none is asked for (a parent with a buggy or small children).
DEFAULT_PROFILE = "buggy"

NETWORK = "network"
CROW_FLY = "crow-fly"

_UNSET = object()


class Workspace:
    """A study area with its walking network (or crow-fly fallback) and travel times.

    Parameters
    ----------
    area
        A layer catalogue path, an already loaded :class:`StudyArea`, or ``None`` for
        ``settings.default_area``.
    profile
        The default walking pace: a profile name (``walk``, ``buggy``) or a speed in km/h.
    data_dir
        A folder of source files searched first (see :func:`geoplan.studyarea.load_study_area`).
    network
        A walking network to use instead of the area's own (for example one built from ``--osm``).
    fetch_network
        Download the area's network from Overpass when no OSM file or cached network exists.
    crowfly
        Use the calibrated crow-fly estimate even where a network exists (to measure what the
        fallback would have said).

    Notes
    -----
    Safe to share between threads (the app's sessions): each piece is built under a lock.
    """

    def __init__(
        self,
        area: str | os.PathLike[str] | StudyArea | None = None,
        *,
        profile: str | float | WalkProfile = DEFAULT_PROFILE,
        data_dir: str | os.PathLike[str] | None = None,
        network: WalkNetwork | None = None,
        fetch_network: bool = False,
        crowfly: bool = False,
    ) -> None:
        self.profile = get_profile(profile)
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.fetch_network = fetch_network
        self._lock = threading.RLock()
        self._matrices: dict[tuple[str, float, float | None], TravelTimeMatrix] = {}
        self.crowfly = crowfly
        self._network: object = None if crowfly else network if network is not None else _UNSET
        if isinstance(area, StudyArea):
            self._area: StudyArea | None = area
            self.area_path = Path(area.catalogue.path).resolve() if area.catalogue.path is not None else None
        else:
            self._area = None
            self.area_path = Path(area if area is not None else settings.default_area).resolve()

    @classmethod
    def shared(
        cls, area: str | os.PathLike[str] | None = None, *, data_dir: str | os.PathLike[str] | None = None
    ) -> Workspace:
        """The workspace of ``area``, made once per process (the app's sessions share it read-only)."""
        area_path = Path(area if area is not None else settings.default_area).resolve()
        return _shared(area_path, Path(data_dir).resolve() if data_dir is not None else None)

    def __repr__(self) -> str:
        return f"Workspace({self.area_path}, profile={self.profile.name!r})"

    @property
    def area(self) -> StudyArea:
        """The study area, loaded on first use."""
        with self._lock:
            if self._area is None:
                self._area = load_study_area(self.area_path, data_dir=self.data_dir)
            return self._area

    @property
    def network(self) -> WalkNetwork | None:
        """The area's walking network, or ``None`` when only crow-fly estimates are possible.

        Raises
        ------
        NetworkUnavailableError
            No network and ``settings.allow_crowfly_fallback`` is off.
        """
        with self._lock:
            if self._network is _UNSET:
                self._network = study_area_network(self.area, fetch=self.fetch_network)
            network = self._network
        if network is None and not settings.allow_crowfly_fallback and not self.crowfly:
            msg = f"no walking network for {self.area.name}: name an OSM file in the area's catalogue (network.osm_file) or run 'geoplan data fetch'"
            raise NetworkUnavailableError(msg)
        return network  # type: ignore[return-value]

    def download_network(self) -> FetchResult:
        """Download the area's walking network from Overpass into the network cache, unless it is there.

        The network is fetched and built exactly as :attr:`network` asks for it (same outline and
        margin), so later runs find it cached. An area whose catalogue names an OSM file, or whose
        network is cached already, needs no download (the result says skipped).

        Raises
        ------
        NetworkUnavailableError
            Overpass cannot be reached or returns no usable network.
        """
        source = get_source("osm_overpass")
        cache = Path(settings.cache_dir) / "networks"
        osm_file = self.area.catalogue.network.osm_file
        if osm_file is not None:
            return FetchResult(source.key, cache, str(osm_file), 0, skipped=True)
        with self._lock:
            network = study_area_network(self.area, fetch=False)
            skipped = network is not None
            if not skipped:
                announce(source, settings.overpass_url)
                network = study_area_network(self.area, fetch=True)
            self._network = network
        return FetchResult(source.key, cache, settings.overpass_url, len(network.edge_u), skipped=skipped)

    @property
    def method(self) -> str:
        """``"network"`` or ``"crow-fly"``: how travel times of this workspace are computed."""
        return NETWORK if self.network is not None else CROW_FLY

    def travel_times(
        self, profile: str | float | WalkProfile | None = None, *, cutoff_minutes: float | None = None
    ) -> TravelTimeMatrix:
        """Minutes from every child origin to every located venue, computed once per pace and cutoff."""
        from geoplan.traveltime import study_area_travel_times

        pace = get_profile(profile) if profile is not None else self.profile
        key = (pace.name, pace.speed_kmh, cutoff_minutes)
        with self._lock:
            if key not in self._matrices:
                network = self.network
                self._matrices[key] = study_area_travel_times(
                    self.area,
                    profile=pace,
                    cutoff_minutes=cutoff_minutes,
                    network=network,
                    method=NETWORK if network is not None else CROW_FLY,
                )
            return self._matrices[key]

    def baseline(self) -> Configuration:
        """The current programme (the venue and session files)."""
        from geoplan.programme import baseline_configuration

        return baseline_configuration(self.area)


@functools.cache
def _shared(area_path: Path, data_dir: Path | None) -> Workspace:
    return Workspace(area_path, data_dir=data_dir)
