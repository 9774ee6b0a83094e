"""The programme: which venues are open, which count as children's centres, where sessions run.

A :class:`Configuration` is what a scenario changes and what coverage, maps, figures and
outreach read; it is built from the venue and session facts of a study area.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from geoplan.errors import InputError
from geoplan.studyarea import StudyArea
from geoplan.venues import CENTRE_KINDS, VENUE_KINDS

#: Named venue sets for ``--kind``.
VENUE_SETS: dict[str, tuple[str, ...]] = {
    "centres": CENTRE_KINDS,
    "centres+libraries": (*CENTRE_KINDS, "library"),
    "all": VENUE_KINDS,
}


@dataclass(frozen=True)
class Configuration:
    """Which venues are open, which of them are children's centres, and where sessions run.

    Attributes
    ----------
    open_venue_ids
        Venues open in this configuration.
    centre_ids
        Open venues that count as children's centres.
    kinds
        Venue id → kind in this configuration (a redesignated venue has its new kind).
    sessions
        Session rows with the venue each runs at in this configuration.
    """

    open_venue_ids: tuple[str, ...]
    centre_ids: tuple[str, ...]
    kinds: dict[str, str]
    sessions: pd.DataFrame

    def venue_ids(self, *, kinds: Iterable[str] | None = None, session_types: Iterable[str] | None = None) -> list[str]:
        """Open venues of the given kinds and/or hosting sessions of the given types (all open venues by default)."""
        chosen = list(self.open_venue_ids)
        if kinds is not None:
            wanted = set(kinds)
            chosen = [venue for venue in chosen if self.kinds[venue] in wanted]
        if session_types is not None:
            types = set(session_types)
            hosting = set(self.sessions.loc[self.sessions["session_type"].isin(types), "venue_id"])
            chosen = [venue for venue in chosen if venue in hosting]
        return chosen


def baseline_configuration(area: StudyArea) -> Configuration:
    """The configuration the venue and session files describe (the current programme).

    A venue is open unless its 2021 status is ``closed_before_2021``; centres are open venues
    of the kinds the catalogue's ``programme.centre_kinds`` names (children's centres by default).
    """
    venues = area.venues
    open_ids = tuple(venues.loc[venues["status_2021"] != "closed_before_2021", "venue_id"])
    kinds = dict(zip(venues["venue_id"], venues["kind"], strict=True))
    centre_kinds = set(area.catalogue.programme.centre_kinds)
    centres = tuple(venue for venue in open_ids if kinds[venue] in centre_kinds)
    return Configuration(open_venue_ids=open_ids, centre_ids=centres, kinds=kinds, sessions=area.sessions.copy())


def parse_venue_set(value: str) -> tuple[str, ...]:
    """Turn a ``--kind`` value (a named set or comma-separated kinds) into venue kinds."""
    if value in VENUE_SETS:
        return VENUE_SETS[value]
    kinds = tuple(part.strip() for part in value.split(",") if part.strip())
    unknown = [kind for kind in kinds if kind not in VENUE_KINDS]
    if unknown or not kinds:
        msg = f"unknown venue kind {unknown[0] if unknown else value!r}; use {', '.join(VENUE_SETS)} or kinds from {', '.join(VENUE_KINDS)}"
        raise InputError(msg, field="kind")
    return kinds
