"""Applying a scenario's changes, in order, to the programme of a study area.

The result is a :class:`~geoplan.programme.Configuration` plus the travel-time matrix with a
column for each venue the scenario opens, computed by the same engine as the others.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer
from shapely.geometry import Point

from geoplan import settings
from geoplan.network import Snapping
from geoplan.programme import Configuration, baseline_configuration
from geoplan.scenarios.schema import Loc, OpenVenue, Scenario
from geoplan.studyarea import StudyArea
from geoplan.traveltime import TravelTimeMatrix, travel_times_to_points
from geoplan.venues import POSTCODE_PATTERN, normalise_postcode

#: Plain names of session age groups.
AGE_GROUP_LABELS = {
    "under_1": "babies under 1",
    "under_2": "under 2s",
    "under_3": "under 3s",
    "under_5": "under 5s",
    "0_4": "under 5s",
    "2_4": "2 to 4 year olds",
    "3_4": "3 and 4 year olds",
    "all": "all ages",
}


def kind_labels(area: StudyArea) -> dict[str, str]:
    """Plain names of venue kinds ("Children's centre", "Library"), from the area's catalogue styles."""
    styles = area.catalogue.venues.styles
    kinds = set(area.venues["kind"]) | set(styles)
    return {kind: styles[kind].label if kind in styles else kind.replace("_", " ").capitalize() for kind in kinds}


def plain_label(code: str) -> str:
    """A code as words (``stay_and_play`` → ``stay and play``) when no better label is known."""
    return AGE_GROUP_LABELS.get(code, str(code).replace("_", " "))


@dataclass
class AppliedScenario:
    """A scenario turned into a venue configuration, with the travel times it needs.

    Attributes
    ----------
    scenario
        The scenario.
    configuration
        Open venues, centres, kinds and sessions after the changes.
    venues
        Every venue of the area plus the opened ones, with ``open``, the (new) ``kind`` and ``status``.
    travel_times
        The area's matrix with a column for each opened venue (``None`` when only checked).
    dropped_sessions
        Sessions that stopped because their venue closed.
    moved_sessions
        Sessions that run at another venue (``session_id``, ``from_venue``, ``to_venue``).
    """

    scenario: Scenario
    configuration: Configuration
    venues: gpd.GeoDataFrame
    travel_times: TravelTimeMatrix | None
    dropped_sessions: pd.DataFrame
    moved_sessions: pd.DataFrame

    def names(self) -> dict[str, str]:
        """Venue and session ids → their names and titles (for plain-language descriptions)."""
        sessions = pd.concat([self.configuration.sessions, self.dropped_sessions], ignore_index=True)
        return {
            **dict(zip(sessions["session_id"], sessions["title"], strict=True)),
            **dict(zip(self.venues["venue_id"], self.venues["name"], strict=True)),
        }

    def located_ids(self, venue_ids: list[str] | tuple[str, ...]) -> list[str]:
        """The venues of ``venue_ids`` that have a column in the travel times."""
        available = set(self.travel_times.destination_ids) if self.travel_times is not None else set()
        return [venue for venue in venue_ids if venue in available]

    def uncounted(self) -> list[dict[str, object]]:
        """Open centres and session venues with no known location: they cannot be walked to or counted."""
        venues = self.venues.set_index("venue_id")
        sessions = self.configuration.sessions.groupby("venue_id").size()
        rows = []
        for venue_id in self.configuration.open_venue_ids:
            row = venues.loc[venue_id]
            is_centre = venue_id in self.configuration.centre_ids
            hosted = int(sessions.get(venue_id, 0))
            if row["located"] or not (is_centre or hosted):
                continue
            rows.append(
                {
                    "venue_id": venue_id,
                    "name": row["name"],
                    "kind": row["kind"],
                    "role": "centre" if is_centre else "session venue",
                    "sessions": hosted,
                    "note": f"{row['name']} has no known location, so it could not be counted",
                }
            )
        return rows


def _window(area: StudyArea) -> object:
    return area.boundary.geometry.buffer(area.catalogue.area.margin_m).union_all()


def _place(area: StudyArea, scenario: Scenario, venue: OpenVenue, loc: Loc) -> tuple[Point, str]:
    if venue.postcode is not None:
        postcode = normalise_postcode(venue.postcode)
        if not POSTCODE_PATTERN.match(postcode):
            msg = f"malformed postcode {venue.postcode!r}"
            raise scenario.error(msg, (*loc, "postcode"))
        points = area.postcodes.set_index("postcode").geometry
        if postcode not in points.index:
            msg = (
                f"postcode {postcode} is not a live postcode in {area.name} or within "
                f"{area.catalogue.area.margin_m:g} m of it (OS Code-Point Open)"
            )
            raise scenario.error(msg, (*loc, "postcode"))
        return points.loc[postcode], postcode
    if venue.x is not None:
        point, field = Point(venue.x, venue.y), "x"
    else:
        transformer = Transformer.from_crs(settings.display_crs, settings.measure_crs, always_xy=True)
        point, field = Point(*transformer.transform(venue.lon, venue.lat)), "lon"
    if not _window(area).contains(point):
        msg = (
            f"({point.x:.0f}, {point.y:.0f}) in EPSG:27700 lies outside {area.name} and its "
            f"{area.catalogue.area.margin_m:g} m margin"
        )
        raise scenario.error(msg, (*loc, field))
    return point, ""


def _add_columns(
    area: StudyArea, travel_times: TravelTimeMatrix | None, opened: gpd.GeoDataFrame
) -> TravelTimeMatrix | None:
    """The matrix with a column of minutes to each opened venue, from the same engine."""
    if opened.empty or travel_times is None:
        return travel_times
    extra = travel_times_to_points(area, travel_times, points=opened.geometry, ids=list(opened["venue_id"]))
    padded = {}
    # Per-destination snapping facts are not returned for added points: the access leg is unknown
    # (NaN) and a point no origin can reach is flagged like one too far from the network.
    if (snap := travel_times.destination_snap) is not None:
        unreachable = ~np.isfinite(extra).any(axis=0)
        padded["destination_snap"] = Snapping(
            np.concatenate([snap.distance_m, np.full(len(opened), np.nan)]), np.concatenate([snap.too_far, unreachable])
        )
    return dataclasses.replace(
        travel_times,
        destination_ids=[*travel_times.destination_ids, *opened["venue_id"]],
        table=np.hstack([travel_times.minutes, extra]),
        **padded,
    )


def apply_scenario(
    area: StudyArea, scenario: Scenario, travel_times: TravelTimeMatrix | None = None
) -> AppliedScenario:
    """Apply a scenario's changes, in order, to the baseline configuration of ``area``.

    Parameters
    ----------
    area
        The study area the scenario's ``base`` catalogue describes.
    scenario
        A scenario from :func:`~geoplan.scenarios.load_scenario` (or :func:`~geoplan.scenarios.baseline_scenario`).
    travel_times
        The area's origin × venue matrix; opened venues get extra columns from the same engine.
        ``None`` only checks the scenario against the area (the result has no travel times).

    Raises
    ------
    ScenarioError
        An unknown venue or session id, a venue closed twice, a duplicate id, a postcode that
        is not in the area, or a change to a closed venue (naming the line and field).
    """
    base = baseline_configuration(area)
    venues = area.venues.copy()
    venues["open"] = venues["venue_id"].isin(base.open_venue_ids)
    venues["status"] = venues["status_2021"]
    venues = venues.set_index("venue_id", drop=False)
    sessions = base.sessions.copy()
    known_sessions = set(sessions["session_id"])
    closed_at: dict[str, int | None] = {}
    opened_at: dict[str, int | None] = {}
    dropped: list[pd.DataFrame] = []
    moves: list[dict[str, str]] = []
    new_rows: list[dict[str, object]] = []

    def existing(venue_id: str, loc: Loc, *, must_be_open: bool) -> None:
        if venue_id not in venues.index:
            msg = f"unknown venue id {venue_id!r}"
            raise scenario.error(msg, loc)
        if must_be_open and not venues.loc[venue_id, "open"]:
            where = closed_at.get(venue_id)
            name = venues.loc[venue_id, "name"]
            msg = f"{name} ({venue_id!r}) is closed" + (f" (closed on line {where})" if where else " in the venue file")
            raise scenario.error(msg, loc)

    for index, change in enumerate(scenario.changes):
        loc: Loc = ("changes", index, change.kind)
        if change.close is not None:
            for position, venue_id in enumerate(change.close):
                item = (*loc, position)
                existing(venue_id, item, must_be_open=False)
                if not venues.loc[venue_id, "open"]:
                    where = closed_at.get(venue_id)
                    msg = f"venue {venue_id!r} is closed twice" + (
                        f" (already closed on line {where})" if where else " (already closed in the venue file)"
                    )
                    raise scenario.error(msg, item)
                venues.loc[venue_id, "open"] = False
                closed_at[venue_id] = scenario.line(item)
                dropped.append(sessions[sessions["venue_id"] == venue_id])
                sessions = sessions[sessions["venue_id"] != venue_id]
        elif change.open is not None:
            venue = change.open
            if venue.id in venues.index:
                where = opened_at.get(venue.id)
                msg = f"duplicate venue id {venue.id!r}" + (
                    f" (opened on line {where})" if where else " (already in the venue file)"
                )
                raise scenario.error(msg, (*loc, "id"))
            point, postcode = _place(area, scenario, venue, loc)
            row = {
                "venue_id": venue.id,
                "name": venue.name,
                "kind": venue.kind,
                "status_2021": "n/a",
                "address": venue.address,
                "postcode": postcode,
                "source": f"scenario {scenario.name}",
                "notes": "",
                "located": True,
                "open": True,
                "status": "n/a",
                "geometry": point,
            }
            added_venue = gpd.GeoDataFrame([row], geometry="geometry", crs=venues.crs).set_index("venue_id", drop=False)
            venues = pd.concat([venues, added_venue])
            opened_at[venue.id] = scenario.line((*loc, "id"))
            new_rows.append(row)
            added = []
            for position, session in enumerate(venue.sessions):
                if session.session_id in known_sessions:
                    msg = f"duplicate session id {session.session_id!r}"
                    raise scenario.error(msg, (*loc, "sessions", position, "session_id"))
                known_sessions.add(session.session_id)
                capacity = np.nan if session.capacity is None else session.capacity
                added.append({**session.model_dump(), "venue_id": venue.id, "capacity": capacity})
            if added:
                sessions = pd.concat([sessions, pd.DataFrame(added)], ignore_index=True)
        elif change.move_sessions is not None:
            move = change.move_sessions
            if move.from_ is not None:
                existing(move.from_, (*loc, "from"), must_be_open=False)
            existing(move.to, (*loc, "to"), must_be_open=True)
            if move.sessions == "all":
                chosen = sessions.index[sessions["venue_id"] == move.from_]
                if chosen.empty:
                    msg = f"venue {move.from_!r} hosts no sessions to move"
                    raise scenario.error(msg, (*loc, "from"))
            else:
                chosen = []
                for position, session_id in enumerate(move.sessions):
                    item = (*loc, "sessions", position)
                    found = sessions.index[sessions["session_id"] == session_id]
                    if found.empty:
                        gone = any(session_id in frame["session_id"].to_numpy() for frame in dropped)
                        msg = f"session {session_id!r} " + ("stopped when its venue closed" if gone else "is unknown")
                        raise scenario.error(msg, item)
                    here = sessions.loc[found[0], "venue_id"]
                    if move.from_ is not None and here != move.from_:
                        msg = f"session {session_id!r} runs at {here!r}, not at {move.from_!r}"
                        raise scenario.error(msg, item)
                    chosen.append(found[0])
            for row_index in chosen:
                moves.append(
                    {
                        "session_id": sessions.loc[row_index, "session_id"],
                        "from_venue": sessions.loc[row_index, "venue_id"],
                        "to_venue": move.to,
                    }
                )
            sessions.loc[chosen, "venue_id"] = move.to
        elif change.redesignate is not None:
            target = change.redesignate
            existing(target.venue, (*loc, "venue"), must_be_open=True)
            if venues.loc[target.venue, "kind"] == target.kind:
                msg = f"venue {target.venue!r} is already a {plain_label(target.kind)}"
                raise scenario.error(msg, (*loc, "kind"))
            venues.loc[target.venue, "kind"] = target.kind
            if target.status is not None:
                venues.loc[target.venue, "status"] = target.status

    venues = gpd.GeoDataFrame(venues.reset_index(drop=True), geometry="geometry", crs=area.venues.crs)
    open_ids = tuple(venues.loc[venues["open"], "venue_id"])
    kinds = dict(zip(venues["venue_id"], venues["kind"], strict=True))
    configuration = Configuration(
        open_venue_ids=open_ids,
        centre_ids=tuple(venue for venue in open_ids if kinds[venue] in area.catalogue.programme.centre_kinds),
        kinds=kinds,
        sessions=sessions.reset_index(drop=True),
    )
    opened = gpd.GeoDataFrame(new_rows, geometry="geometry", crs=area.venues.crs) if new_rows else venues.iloc[:0]
    return AppliedScenario(
        scenario=scenario,
        configuration=configuration,
        venues=venues,
        travel_times=_add_columns(area, travel_times, opened),
        dropped_sessions=pd.concat(dropped, ignore_index=True) if dropped else sessions.iloc[:0],
        moved_sessions=pd.DataFrame(moves, columns=["session_id", "from_venue", "to_venue"]),
    )


def describe_changes(
    scenario: Scenario, *, names: Mapping[str, str] | None = None, kinds: Mapping[str, str] | None = None
) -> list[str]:
    """One plain-English line per change, naming venues and sessions by ``names`` and kinds by ``kinds``."""
    names = names or {}
    kinds = kinds or {}

    def name(code: str) -> str:
        return names.get(code, code)

    def kind(code: str) -> str:
        return kinds.get(code, plain_label(code)).lower()

    lines = []
    for change in scenario.changes:
        if change.close is not None:
            lines.append(f"Close {', '.join(name(venue) for venue in change.close)}")
        elif change.open is not None:
            venue = change.open
            if venue.postcode:
                where = f"at {venue.postcode}"
            elif venue.x is not None:
                where = f"at grid reference {venue.x:.0f}, {venue.y:.0f}"
            else:
                where = f"at longitude {venue.lon:g}, latitude {venue.lat:g}"
            sessions = (
                f" with {len(venue.sessions)} session{'' if len(venue.sessions) == 1 else 's'}"
                if venue.sessions
                else ""
            )
            lines.append(f"Open {venue.name} ({kind(venue.kind)}) {where}{sessions}")
        elif change.move_sessions is not None:
            move = change.move_sessions
            what = "all sessions" if move.sessions == "all" else ", ".join(name(item) for item in move.sessions)
            lines.append(f"Move {what}" + (f" from {name(move.from_)}" if move.from_ else "") + f" to {name(move.to)}")
        else:
            target = change.redesignate
            status = f" ({plain_label(target.status)})" if target.status else ""
            lines.append(f"Make {name(target.venue)} a {kind(target.kind)}{status}")
    return lines
