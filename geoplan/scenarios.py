"""Reconfiguration scenarios: which venues close, open, change kind, and where sessions move.

A scenario is a YAML file in ``scenarios/`` (schema version 1) holding an ordered list of changes
applied to the programme the venue and session files describe (the baseline). Comparing two
scenarios re-measures the same travel-time matrix with each configuration's venue columns, so a
committee sees, by national deprivation decile and by ward, who gains and who loses a walk to a
children's centre, how the reach of each session type moves, and how E2SFCA accessibility changes:
the evidence the sufficiency duty (Childcare Act 2006 s.5A) and the equality duty (Equality Act
2010 s.149) ask for.

Errors name the file, the line and the field (``scenarios/x.yaml, line 12, field 'changes[2].close'``);
list positions in field names count from 0, lines from 1.

Children are never listed by postcode: every output aggregates to LSOA, ward or decile.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator
from pyproj import Transformer
from shapely.geometry import Point

from geoplan import resources, settings
from geoplan.coverage import DEFAULT_BANDS, HEADLINE_MINUTES, MOST_DEPRIVED_30_DECILES, CoverageResult, e2sfca, measure_coverage, minutes_to_nearest, venue_supply
from geoplan.programme import Configuration, baseline_configuration
from geoplan.bands import check_bands
from geoplan.errors import InputError
from geoplan.fileio import atomic_directory, atomic_path
from geoplan.studyarea import StudyArea, load_study_area
from geoplan.venues import CENTRE_KINDS, POSTCODE_PATTERN, STATUSES_2021, VENUE_KINDS, normalise_postcode

SCENARIO_VERSION = 1
#: Layer catalogue a scenario applies to, relative to the scenario file.
DEFAULT_BASE = Path("../layers/bexley.yaml")
#: Name accepted by ``--against`` for the programme the venue and session files describe.
BASELINE = "baseline"
#: Walking profiles the travel-time engine knows.
PROFILES = ("walk", "buggy")
POPULATIONS = ("children_0_4", "under_3", "under_2")
POPULATION_LABELS = {"children_0_4": "aged 0-4", "under_3": "under 3", "under_2": "under 2"}
NAME_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
CHANGE_KINDS = ("close", "open", "move_sessions", "redesignate")
#: Folder of the shipped scenarios.
SCENARIO_DIR = resources.scenarios_dir()
#: Key lines in a YAML file (``key:`` or ``- key:``), used to name the field of a syntax error.
_KEY_LINE = re.compile(r"^(?P<indent>\s*)(?P<dash>-\s+)?(?P<key>[A-Za-z_][\w-]*)\s*:")

Loc = tuple[str | int, ...]


class ScenarioError(InputError):
    """A scenario file that cannot be used; the message names the file, the line and the field."""

    def __init__(self, message: str, *, path: object, line: int | None = None, field: str | None = None) -> None:
        super().__init__(message, path=path, field=field)
        self.line = line
        where = [str(path)] + ([f"line {line}"] if line is not None else []) + ([f"field '{field}'"] if field else [])
        self.args = (", ".join(where) + ": " + message,)


def format_loc(loc: Loc) -> str:
    """``('changes', 2, 'close')`` → ``changes[2].close``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


# --------------------------------------------------------------------------------------------
# Schema


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ScenarioSettings(_Strict):
    """How a scenario is measured."""

    bands: tuple[float, ...] = DEFAULT_BANDS
    profile: Literal[PROFILES] = "buggy"
    headline_minutes: float = Field(default=HEADLINE_MINUTES, gt=0)
    population: Literal[POPULATIONS] = "children_0_4"

    @field_validator("bands")
    @classmethod
    def _positive_bands(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        try:
            return check_bands(value)
        except InputError as exc:
            raise ValueError(str(exc).split(": ", 1)[-1]) from None

    @model_validator(mode="after")
    def _headline_in_bands(self) -> ScenarioSettings:
        if self.headline_minutes not in self.bands:
            self.bands = tuple(sorted({*self.bands, self.headline_minutes}))
        return self


class NewSession(_Strict):
    """A session run at a venue the scenario opens."""

    session_id: str = Field(min_length=1)
    title: str
    session_type: str
    day: str = ""
    frequency: str = "weekly"
    sessions_per_week: float = Field(default=1.0, ge=0)
    age_group: str = "under_5"
    capacity: float | None = Field(default=None, ge=0)
    provider: str = "childrens_centre"
    source: str = "scenario"


class OpenVenue(_Strict):
    """A venue the scenario opens, placed by postcode, by British National Grid x/y, or by lon/lat."""

    id: str = Field(min_length=1)
    name: str
    kind: Literal[VENUE_KINDS]
    address: str = ""
    postcode: str | None = None
    x: float | None = None
    y: float | None = None
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    sessions: list[NewSession] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_location(self) -> OpenVenue:
        forms = [self.postcode is not None, self.x is not None or self.y is not None,
                 self.lon is not None or self.lat is not None]  # fmt: skip
        if sum(forms) != 1:
            msg = "give exactly one location: postcode, or x and y (EPSG:27700), or lon and lat"
            raise ValueError(msg)
        if (self.x is None) != (self.y is None) or (self.lon is None) != (self.lat is None):
            msg = "coordinates come in pairs: x with y, lon with lat"
            raise ValueError(msg)
        return self


class MoveSessions(_Strict):
    """Sessions that run at another venue: all of one venue's, or named ones."""

    from_: str | None = Field(default=None, alias="from")
    to: str
    sessions: Literal["all"] | list[str] = "all"

    @model_validator(mode="after")
    def _source_for_all(self) -> MoveSessions:
        if self.sessions == "all" and self.from_ is None:
            msg = "moving 'all' sessions needs the venue they move from ('from')"
            raise ValueError(msg)
        if isinstance(self.sessions, list) and not self.sessions:
            msg = "no session named; list session ids or write 'all'"
            raise ValueError(msg)
        return self


class Redesignate(_Strict):
    """A venue that changes kind (e.g. a children's centre becomes an early-years site)."""

    venue: str
    kind: Literal[VENUE_KINDS]
    status: Literal[STATUSES_2021] | None = None


class Change(_Strict):
    """One step of a scenario: exactly one of ``close``, ``open``, ``move_sessions``, ``redesignate``."""

    close: list[str] | None = Field(default=None, min_length=1)
    open: OpenVenue | None = None
    move_sessions: MoveSessions | None = None
    redesignate: Redesignate | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Change:
        given = [name for name in CHANGE_KINDS if getattr(self, name) is not None]
        if len(given) != 1:
            msg = f"a change has exactly one of {', '.join(CHANGE_KINDS)} (got {', '.join(given) or 'none'})"
            raise ValueError(msg)
        return self

    @property
    def kind(self) -> str:
        """Which of the four changes this is."""
        return next(name for name in CHANGE_KINDS if getattr(self, name) is not None)


class Scenario(_Strict):
    """A validated scenario file."""

    version: int
    name: str = Field(pattern=NAME_PATTERN)
    title: str = Field(min_length=1)
    description: str = ""
    base: Path = DEFAULT_BASE
    settings: ScenarioSettings = Field(default_factory=ScenarioSettings)
    changes: list[Change] = Field(default_factory=list)

    _path: Path | None = PrivateAttr(default=None)
    _lines: dict[Loc, int] = PrivateAttr(default_factory=dict)

    @field_validator("version")
    @classmethod
    def _supported_version(cls, value: int) -> int:
        if value != SCENARIO_VERSION:
            msg = f"unsupported scenario version {value}; this geoplan reads version {SCENARIO_VERSION}"
            raise ValueError(msg)
        return value

    @property
    def path(self) -> Path | None:
        """The file the scenario was read from (``None`` for the baseline)."""
        return self._path

    def base_path(self) -> Path:
        """The layer catalogue, resolved against the scenario file's folder."""
        if self.base.is_absolute():
            return self.base
        folder = self._path.parent if self._path is not None else SCENARIO_DIR
        return (folder / self.base).resolve()

    def error(self, message: str, loc: Loc) -> ScenarioError:
        """An error about the field at ``loc``, naming its line."""
        return ScenarioError(message, path=self._path or BASELINE, line=_line_of(self._lines, loc), field=format_loc(loc))


def baseline_scenario(base: str | Path | None = None) -> Scenario:
    """The programme the venue and session files describe, as a scenario with no changes."""
    return Scenario(
        version=SCENARIO_VERSION,
        name=BASELINE,
        title="Current programme (venue and session files)",
        description="Every venue not closed before 2021 is open; centres are those of a children's-centre kind.",
        base=Path(base).resolve() if base is not None else DEFAULT_BASE,
    )


# --------------------------------------------------------------------------------------------
# Reading YAML with line numbers


def _node_lines(node: yaml.Node, path: Path, loc: Loc = (), lines: dict[Loc, int] | None = None) -> dict[Loc, int]:
    """Line (1-based) of every mapping key and sequence item under ``node``, keyed by its location."""
    lines = {} if lines is None else lines
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            if (*loc, key) in lines and lines[(*loc, key)] != key_node.start_mark.line + 1:
                msg = f"duplicate key {key!r} (first on line {lines[(*loc, key)]})"
                raise ScenarioError(msg, path=path, line=key_node.start_mark.line + 1, field=format_loc((*loc, key)))
            lines[(*loc, key)] = key_node.start_mark.line + 1
            _node_lines(value_node, path, (*loc, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*loc, index)] = item.start_mark.line + 1
            _node_lines(item, path, (*loc, index), lines)
    return lines


def _line_of(lines: dict[Loc, int], loc: Loc) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _field_at(text: str, line: int) -> str:
    """The key path enclosing ``line`` of a YAML text, from indentation (for syntax errors)."""
    stack: list[tuple[int, str]] = []
    items: dict[str, int] = {}
    for raw in text.splitlines()[:line]:
        match = _KEY_LINE.match(raw)
        if not match:
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if match["dash"]:
            parent = stack[-1][1] if stack else ""
            items[parent] = items.get(parent, -1) + 1
            stack.append((indent, f"{parent}[{items[parent]}]"))
            indent += len(match["dash"])
        parent = stack[-1][1] if stack else ""
        stack.append((indent, f"{parent}.{match['key']}" if parent else match["key"]))
    return stack[-1][1] if stack else "(document)"


def _clean_loc(loc: Sequence[Any], data: object, missing: bool) -> Loc:
    """Keep the part of a pydantic error location that exists in the file (plus a missing field's name)."""
    parts: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif missing and isinstance(node, dict) and isinstance(part, str):
            parts.append(part)
            break
        else:
            break
        parts.append(part)
    return tuple(parts)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file (schema only; :func:`apply_scenario` checks it against an area).

    Raises
    ------
    ScenarioError
        For a missing or empty file, bad YAML, a duplicate key, or a field that does not validate;
        the message names the file, the line and the field.
    """
    path = Path(path)
    if not path.is_file():
        msg = "scenario file not found"
        raise ScenarioError(msg, path=path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        msg = "not UTF-8 text"
        raise ScenarioError(msg, path=path, line=1) from None
    try:
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        context = getattr(exc, "context", None) or ""
        context_mark = getattr(exc, "context_mark", None)
        mark = getattr(exc, "problem_mark", None) or context_mark
        if context_mark is not None and any(word in context for word in ("flow", "quoted")):
            # An unclosed bracket or quote is noticed lines later; name the line where it opened.
            mark = context_mark
        if mark is None and isinstance(exc, yaml.reader.ReaderError):
            line = text.count("\n", 0, exc.position) + 1
        else:
            line = min(mark.line + 1, max(len(text.splitlines()), 1)) if mark is not None else 1
        problem = getattr(exc, "problem", None) or getattr(exc, "reason", None) or "syntax error"
        msg = f"not valid YAML ({problem})"
        raise ScenarioError(msg, path=path, line=line, field=_field_at(text, line)) from None
    if root is None or data is None:
        msg = "file is empty; a scenario needs version, name, title and changes"
        raise ScenarioError(msg, path=path, line=1, field="version")
    if not isinstance(data, dict):
        msg = "a scenario is a mapping of fields (version, name, title, changes, ...)"
        raise ScenarioError(msg, path=path, line=root.start_mark.line + 1, field="(document)")
    lines = _node_lines(root, path)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = _clean_loc(first["loc"], data, first["type"] == "missing")
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = f"unknown field {loc[-1]!r}"
        elif first["type"] == "missing":
            message = f"missing required field {loc[-1]!r}"
        raise ScenarioError(message, path=path, line=_line_of(lines, loc), field=format_loc(loc) or "(document)") from None
    scenario._path = path
    scenario._lines = lines
    return scenario


def resolve_scenario(value: str | Path, *, directory: Path = SCENARIO_DIR) -> Scenario:
    """A scenario given as a file path or as the name of a shipped scenario (or ``baseline``)."""
    if str(value) == BASELINE:
        return baseline_scenario()
    path = Path(value)
    if not path.exists() and path.suffix == "" and (directory / f"{value}.yaml").is_file():
        path = directory / f"{value}.yaml"
    return load_scenario(path)


def run_scenario(
    path: str | Path, *, against: str | Path = BASELINE, data_dir: str | Path | None = None
) -> ScenarioComparison:
    """Load a scenario, its study area and travel times, and compare it with ``against``.

    Parameters
    ----------
    path
        The scenario file (or the name of a shipped scenario).
    against
        ``baseline`` (the venue and session files) or another scenario of the same study area.
    data_dir
        A folder of source files searched first (see :func:`geoplan.studyarea.load_study_area`).
    """
    after = resolve_scenario(path)
    before = baseline_scenario(after.base_path()) if str(against) == BASELINE else resolve_scenario(against)
    if not after.base_path().is_file():
        msg = f"layer catalogue {after.base_path()} not found"
        raise after.error(msg, ("base",))
    if before.base_path() != after.base_path():
        msg = f"compares a different study area ({before.base_path()}) from {after.path} ({after.base_path()})"
        raise before.error(msg, ("base",))
    area = load_study_area(after.base_path(), data_dir=data_dir)
    for scenario in (before, after):
        apply_scenario(area, scenario)
    from geoplan.traveltime import study_area_travel_times

    travel_times = study_area_travel_times(area, profile=after.settings.profile)
    return compare(area, travel_times, before, after)


def list_scenarios(directory: str | Path = SCENARIO_DIR) -> list[Scenario]:
    """Every scenario file (``*.yaml``) in ``directory``, validated, sorted by name."""
    return sorted((load_scenario(path) for path in Path(directory).glob("*.yaml")), key=lambda item: item.name)


# --------------------------------------------------------------------------------------------
# Applying a scenario to a study area


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
        The area's matrix with a column for each opened venue.
    dropped_sessions
        Sessions that stopped because their venue closed.
    moved_sessions
        Sessions that run at another venue (``session_id``, ``from_venue``, ``to_venue``).
    """

    scenario: Scenario
    configuration: Configuration
    venues: gpd.GeoDataFrame
    travel_times: Any
    dropped_sessions: pd.DataFrame
    moved_sessions: pd.DataFrame

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
            msg = f"postcode {postcode} is not a live postcode in OS Code-Point Open within the study area"
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


def _add_columns(area: StudyArea, travel_times: Any, opened: gpd.GeoDataFrame) -> Any:
    """The matrix with a column of minutes to each opened venue, from the same engine."""
    if opened.empty or travel_times is None:
        return travel_times
    from geoplan.traveltime import travel_times_to_points

    extra = travel_times_to_points(area, travel_times, points=opened.geometry, ids=list(opened["venue_id"]))
    padded = {}
    # Per-destination snapping facts are not returned for added points: the access leg is unknown
    # (NaN) and a point no origin can reach is flagged like one too far from the network.
    if getattr(travel_times, "destination_snap_m", None) is not None:
        padded["destination_snap_m"] = np.concatenate([travel_times.destination_snap_m, np.full(len(opened), np.nan)])
    if getattr(travel_times, "destination_too_far", None) is not None:
        unreachable = ~np.isfinite(extra).any(axis=0)
        padded["destination_too_far"] = np.concatenate([travel_times.destination_too_far, unreachable])
    return dataclasses.replace(
        travel_times,
        destination_ids=[*travel_times.destination_ids, *opened["venue_id"]],
        minutes=np.hstack([np.asarray(travel_times.minutes), extra]),
        **padded,
    )


def apply_scenario(area: StudyArea, scenario: Scenario, travel_times: Any | None = None) -> AppliedScenario:
    """Apply a scenario's changes, in order, to the baseline configuration of ``area``.

    Parameters
    ----------
    area
        The study area the scenario's ``base`` catalogue describes.
    scenario
        A scenario from :func:`load_scenario` (or :func:`baseline_scenario`).
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
            msg = f"venue {venue_id!r} is closed" + (f" (closed on line {where})" if where else " in the venue file")
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
                closed_at[venue_id] = _line_of(scenario._lines, item)
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
            row = {"venue_id": venue.id, "name": venue.name, "kind": venue.kind, "status_2021": "n/a",
                   "address": venue.address, "postcode": postcode, "source": f"scenario {scenario.name}",
                   "notes": "", "located": True, "open": True, "status": "n/a", "geometry": point}  # fmt: skip
            venues = pd.concat([venues, gpd.GeoDataFrame([row], geometry="geometry", crs=venues.crs).set_index(
                "venue_id", drop=False)])  # fmt: skip
            opened_at[venue.id] = _line_of(scenario._lines, (*loc, "id"))
            new_rows.append(row)
            added = []
            for position, session in enumerate(venue.sessions):
                if session.session_id in known_sessions:
                    msg = f"duplicate session id {session.session_id!r}"
                    raise scenario.error(msg, (*loc, "sessions", position, "session_id"))
                known_sessions.add(session.session_id)
                added.append({**session.model_dump(), "venue_id": venue.id,
                              "capacity": np.nan if session.capacity is None else session.capacity})  # fmt: skip
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
                moves.append({"session_id": sessions.loc[row_index, "session_id"],
                              "from_venue": sessions.loc[row_index, "venue_id"], "to_venue": move.to})  # fmt: skip
            sessions.loc[chosen, "venue_id"] = move.to
        elif change.redesignate is not None:
            target = change.redesignate
            existing(target.venue, (*loc, "venue"), must_be_open=True)
            if venues.loc[target.venue, "kind"] == target.kind:
                msg = f"venue {target.venue!r} is already a {target.kind}"
                raise scenario.error(msg, (*loc, "kind"))
            venues.loc[target.venue, "kind"] = target.kind
            if target.status is not None:
                venues.loc[target.venue, "status"] = target.status

    venues = gpd.GeoDataFrame(venues.reset_index(drop=True), geometry="geometry", crs=area.venues.crs)
    open_ids = tuple(venues.loc[venues["open"], "venue_id"])
    kinds = dict(zip(venues["venue_id"], venues["kind"], strict=True))
    configuration = Configuration(
        open_venue_ids=open_ids,
        centre_ids=tuple(venue for venue in open_ids if kinds[venue] in CENTRE_KINDS),
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


def describe_changes(scenario: Scenario) -> list[str]:
    """One plain-English line per change."""
    lines = []
    for change in scenario.changes:
        if change.close is not None:
            lines.append(f"Close {', '.join(change.close)}")
        elif change.open is not None:
            where = change.open.postcode or (
                f"x={change.open.x:g}, y={change.open.y:g}" if change.open.x is not None
                else f"lon={change.open.lon:g}, lat={change.open.lat:g}"
            )  # fmt: skip
            lines.append(f"Open {change.open.name} ({change.open.kind}, {where}) with {len(change.open.sessions)} session(s)")
        elif change.move_sessions is not None:
            move = change.move_sessions
            what = "all sessions" if move.sessions == "all" else ", ".join(move.sessions)
            lines.append(f"Move {what}" + (f" from {move.from_}" if move.from_ else "") + f" to {move.to}")
        else:
            target = change.redesignate
            lines.append(f"Redesignate {target.venue} as {target.kind}" + (f" ({target.status})" if target.status else ""))
    return lines


# --------------------------------------------------------------------------------------------
# Comparing two scenarios

#: E2SFCA is reported in sessions per week per this many children (per child the numbers are tiny).
E2SFCA_PER_CHILDREN = 1000
SUPPLY_MEASURE = "sessions_per_week"
DECILES = tuple(range(1, 11))
#: Columns of the equality-impact tables, in order.
IMPACT_COLUMNS = ("children", "covered_before", "covered_after", "change", "share_before", "share_after",
                  "share_change_pts", "children_losing", "children_gaining", "e2sfca_before", "e2sfca_after",
                  "e2sfca_change")  # fmt: skip


def _located_ids(venue_ids: Sequence[str], travel_times: Any) -> list[str]:
    available = set(travel_times.destination_ids)
    return [venue for venue in venue_ids if venue in available]


def _nearest(travel_times: Any, venue_ids: Sequence[str]) -> np.ndarray:
    located = _located_ids(venue_ids, travel_times)
    if not located:
        return np.full(len(travel_times.origin_ids), np.inf)
    return minutes_to_nearest(travel_times, located)


@dataclass
class _Measured:
    """One configuration measured on the area: per-origin minutes, reach and accessibility."""

    applied: AppliedScenario
    coverage: CoverageResult
    centre_minutes: np.ndarray
    session_minutes: np.ndarray
    type_reach: dict[str, np.ndarray]
    accessibility: np.ndarray


def _measure(area: StudyArea, applied: AppliedScenario, options: ScenarioSettings) -> _Measured:
    configuration = applied.configuration
    travel_times = applied.travel_times
    centres = _located_ids(configuration.centre_ids, travel_times)
    if not centres:
        msg = "no open children's centre with a known location is left, so coverage cannot be measured"
        raise applied.scenario.error(msg, ("changes",))
    coverage = measure_coverage(
        area, travel_times, venue_ids=centres, bands=options.bands, population=options.population
    )
    types = sorted(set(configuration.sessions["session_type"]))
    reach = {
        kind: _nearest(travel_times, configuration.venue_ids(session_types=[kind])) <= options.headline_minutes
        for kind in types
    }
    supply = venue_supply(configuration, _located_ids(configuration.open_venue_ids, travel_times), measure=SUPPLY_MEASURE)
    accessibility = e2sfca(area, travel_times, supply=supply, population=options.population).to_numpy()
    return _Measured(
        applied=applied,
        coverage=coverage,
        centre_minutes=_nearest(travel_times, centres),
        session_minutes=_nearest(travel_times, configuration.venue_ids(session_types=types)),
        type_reach=reach,
        accessibility=accessibility * E2SFCA_PER_CHILDREN,
    )


def _impact(frame: pd.DataFrame, by: str, groups: Sequence[object] | None = None) -> pd.DataFrame:
    """Equality-impact table: children, covered before/after, change, share change, losers, gainers, E2SFCA.

    ``groups`` lists every group to show, so a decile with no children still has a row.
    """
    sums = frame.groupby(by, sort=True)[
        ["children", "covered_before", "covered_after", "children_losing", "children_gaining",
         "session_losing", "session_gaining", "types_losing", "types_gaining", "e2sfca_before_w", "e2sfca_after_w"]
    ].sum()  # fmt: skip
    if groups is not None:
        sums = sums.reindex(pd.Index(groups, name=by), fill_value=0.0)
    table = sums.reset_index()
    children = table["children"].where(table["children"] > 0)
    table["change"] = table["covered_after"] - table["covered_before"]
    table["share_before"] = table["covered_before"] / children
    table["share_after"] = table["covered_after"] / children
    table["share_change_pts"] = (table["share_after"] - table["share_before"]) * 100
    table["e2sfca_before"] = table.pop("e2sfca_before_w") / children
    table["e2sfca_after"] = table.pop("e2sfca_after_w") / children
    table["e2sfca_change"] = table["e2sfca_after"] - table["e2sfca_before"]
    extra = ["session_losing", "session_gaining", "types_losing", "types_gaining"]
    return table[[by, *IMPACT_COLUMNS, *extra]]


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    def clean(value: object) -> object:
        if hasattr(value, "item"):
            value = value.item()
        if isinstance(value, float) and not np.isfinite(value):
            return None
        return value

    return [{key: clean(value) for key, value in row.items()} for row in frame.to_dict("records")]


@dataclass
class ScenarioComparison:
    """Before and after of two configurations of one study area, on the same travel times.

    Attributes
    ----------
    before, after
        The applied scenarios (``before`` is the one compared against, often the baseline).
    method, profile
        How travel times were obtained (``network`` or ``crow-fly``) and the walking profile.
    headline_minutes
        The walking band of the gain/loss and equality-impact tables.
    population
        Which children are counted (``children_0_4``, ``under_3`` or ``under_2``).
    coverage_before, coverage_after
        Coverage to children's centres at every band.
    summary
        Headline numbers (children, covered before/after, losing, gaining, E2SFCA, session venues).
    by_imd_decile, by_idaci_decile, by_ward, by_lsoa
        Equality-impact tables at ``headline_minutes`` (see :data:`IMPACT_COLUMNS`).
    session_types
        Children within ``headline_minutes`` of a venue hosting each session type, before and after.
    changed_areas
        LSOAs where children gain or lose a walk to a centre, to any session venue, or to a
        session type (EPSG:27700).
    """

    before: AppliedScenario
    after: AppliedScenario
    method: str
    profile: str
    headline_minutes: float
    population: str
    coverage_before: CoverageResult
    coverage_after: CoverageResult
    summary: dict[str, object]
    by_imd_decile: pd.DataFrame
    by_idaci_decile: pd.DataFrame
    by_ward: pd.DataFrame
    by_lsoa: pd.DataFrame
    session_types: pd.DataFrame
    changed_areas: gpd.GeoDataFrame

    @property
    def stem(self) -> str:
        """File name stem of the outputs: ``<after>-vs-<before>``."""
        return f"{self.after.scenario.name}-vs-{self.before.scenario.name}"

    def _scenario_dict(self, applied: AppliedScenario) -> dict[str, object]:
        scenario = applied.scenario
        return {
            "name": scenario.name,
            "title": scenario.title,
            "file": str(scenario.path) if scenario.path is not None else None,
            "changes": describe_changes(scenario),
            "centres": list(applied.configuration.centre_ids),
            "open_venues": len(applied.configuration.open_venue_ids),
            "sessions": len(applied.configuration.sessions),
            "moved_sessions": _records(applied.moved_sessions),
            "stopped_sessions": list(applied.dropped_sessions["session_id"]),
            "not_counted": applied.uncounted(),
        }

    def to_dict(self) -> dict[str, object]:
        """JSON-safe metrics (no postcode-level rows: the finest grain is the LSOA)."""
        changed = self.by_lsoa[self.by_lsoa["lsoa_code"].isin(self.changed_areas["lsoa_code"])]
        return {
            "method": self.method,
            "profile": self.profile,
            "headline_minutes": self.headline_minutes,
            "population": self.population,
            "e2sfca_units": f"{SUPPLY_MEASURE.replace('_', ' ')} per {E2SFCA_PER_CHILDREN:,} children",
            "before": self._scenario_dict(self.before),
            "after": self._scenario_dict(self.after),
            "summary": self.summary,
            "coverage_before": self.coverage_before.to_dict(),
            "coverage_after": self.coverage_after.to_dict(),
            "equality_impact": {
                "by_imd_decile": _records(self.by_imd_decile),
                "by_idaci_decile": _records(self.by_idaci_decile),
                "by_ward": _records(self.by_ward),
            },
            "changed_lsoas": _records(changed),
            "session_types": _records(self.session_types),
        }

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write ``<stem>.json``, ``<stem>.gpkg`` (changed areas) and ``<stem>.html`` into ``out_dir`` atomically."""
        out_dir = Path(out_dir)
        names = [f"{self.stem}.json", f"{self.stem}.gpkg", f"{self.stem}.html"]
        with atomic_directory(out_dir) as staging:
            (staging / names[0]).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
            with atomic_path(staging / names[1]) as tmp:
                self.changed_areas.to_file(tmp, layer="changed_areas", driver="GPKG")
            (staging / names[2]).write_text(self.report_html(), encoding="utf-8")
        return [out_dir / name for name in names]

    def report_html(self) -> str:
        """An HTML fragment (one ``<section>``) the committee report embeds."""
        return _report_html(self)


def compare(area: StudyArea, travel_times: Any, scenario_a: Scenario, scenario_b: Scenario) -> ScenarioComparison:
    """Compare configuration ``scenario_b`` (after) with ``scenario_a`` (before) on one study area.

    Parameters
    ----------
    area
        The study area both scenarios apply to.
    travel_times
        The area's origin × venue matrix, computed with ``scenario_b.settings.profile``.
    scenario_a, scenario_b
        Before and after (:func:`baseline_scenario` for the current programme). The settings
        (bands, profile, headline minutes, population) of ``scenario_b`` are used.

    Returns
    -------
    ScenarioComparison
    """
    options = scenario_b.settings
    if travel_times.profile != options.profile:
        msg = f"travel times are for the {travel_times.profile!r} profile, the scenario asks for {options.profile!r}"
        raise scenario_b.error(msg, ("settings", "profile"))
    before = _measure(area, apply_scenario(area, scenario_a, travel_times), options)
    after = _measure(area, apply_scenario(area, scenario_b, travel_times), options)
    headline = options.headline_minutes
    children = area.children[options.population].to_numpy(dtype=float)
    covered_before = before.centre_minutes <= headline
    covered_after = after.centre_minutes <= headline
    session_before = before.session_minutes <= headline
    session_after = after.session_minutes <= headline
    types = sorted(set(before.type_reach) | set(after.type_reach))
    nobody = np.zeros(len(children), dtype=bool)
    lost_type = np.any([before.type_reach.get(t, nobody) & ~after.type_reach.get(t, nobody) for t in types], axis=0)
    gained_type = np.any([~before.type_reach.get(t, nobody) & after.type_reach.get(t, nobody) for t in types], axis=0)

    frame = pd.DataFrame(area.children[["lsoa_code", "ward_code", "imd_decile", "idaci_decile"]]).reset_index(drop=True)
    frame["children"] = children
    frame["covered_before"] = children * covered_before
    frame["covered_after"] = children * covered_after
    frame["children_losing"] = children * (covered_before & ~covered_after)
    frame["children_gaining"] = children * (~covered_before & covered_after)
    frame["session_losing"] = children * (session_before & ~session_after)
    frame["session_gaining"] = children * (~session_before & session_after)
    frame["types_losing"] = children * lost_type
    frame["types_gaining"] = children * gained_type
    frame["e2sfca_before_w"] = children * before.accessibility
    frame["e2sfca_after_w"] = children * after.accessibility

    ward_names = area.wards.set_index("ward_code")["ward_name"]
    by_ward = _impact(frame, "ward_code")
    by_ward.insert(1, "ward_name", by_ward["ward_code"].map(ward_names))
    lsoa_info = area.lsoas[["lsoa_code", "lsoa_name", "ward_code", "ward_name", "imd_decile", "idaci_decile"]]
    by_lsoa = lsoa_info.merge(_impact(frame, "lsoa_code"), on="lsoa_code", how="left", validate="one_to_one")
    moved = by_lsoa[["children_losing", "children_gaining", "session_losing", "session_gaining", "types_losing",
                     "types_gaining"]].gt(0).any(axis=1)  # fmt: skip
    geometry = area.lsoas.set_index("lsoa_code").geometry
    changed = by_lsoa[moved].reset_index(drop=True)
    changed_areas = gpd.GeoDataFrame(
        changed.assign(method=travel_times.method),
        geometry=changed["lsoa_code"].map(geometry).to_numpy(),
        crs=settings.measure_crs,
    )

    session_types = pd.DataFrame(
        [
            {
                "session_type": kind,
                "venues_before": len(_located_ids(before.applied.configuration.venue_ids(session_types=[kind]),
                                                  before.applied.travel_times)),
                "venues_after": len(_located_ids(after.applied.configuration.venue_ids(session_types=[kind]),
                                                 after.applied.travel_times)),
                "covered_before": float(children[before.type_reach.get(kind, nobody)].sum()),
                "covered_after": float(children[after.type_reach.get(kind, nobody)].sum()),
                "children_losing": float(children[before.type_reach.get(kind, nobody)
                                                  & ~after.type_reach.get(kind, nobody)].sum()),
                "children_gaining": float(children[~before.type_reach.get(kind, nobody)
                                                   & after.type_reach.get(kind, nobody)].sum()),
            }
            for kind in types
        ],
        columns=["session_type", "venues_before", "venues_after", "covered_before", "covered_after",
                 "children_losing", "children_gaining"],
    )  # fmt: skip
    session_types["change"] = session_types["covered_after"] - session_types["covered_before"]

    deprived = frame["imd_decile"].isin(MOST_DEPRIVED_30_DECILES).to_numpy()
    total = float(children.sum())
    summary = {
        "children": total,
        "centres_before": len(before.applied.configuration.centre_ids),
        "centres_after": len(after.applied.configuration.centre_ids),
        "located_centres_before": len(before.coverage.venue_ids),
        "located_centres_after": len(after.coverage.venue_ids),
        "covered_before": float(frame["covered_before"].sum()),
        "covered_after": float(frame["covered_after"].sum()),
        "share_before": float(frame["covered_before"].sum() / total),
        "share_after": float(frame["covered_after"].sum() / total),
        "children_losing": float(frame["children_losing"].sum()),
        "children_gaining": float(frame["children_gaining"].sum()),
        "most_deprived_30": {
            "children": float(children[deprived].sum()),
            "covered_before": float(frame.loc[deprived, "covered_before"].sum()),
            "covered_after": float(frame.loc[deprived, "covered_after"].sum()),
            "children_losing": float(frame.loc[deprived, "children_losing"].sum()),
            "children_gaining": float(frame.loc[deprived, "children_gaining"].sum()),
        },
        "session_venues": {
            "covered_before": float(children[session_before].sum()),
            "covered_after": float(children[session_after].sum()),
            "children_losing": float(frame["session_losing"].sum()),
            "children_gaining": float(frame["session_gaining"].sum()),
        },
        "children_losing_a_session_type": float(frame["types_losing"].sum()),
        "children_gaining_a_session_type": float(frame["types_gaining"].sum()),
        "e2sfca": {
            "before": float(frame["e2sfca_before_w"].sum() / total),
            "after": float(frame["e2sfca_after_w"].sum() / total),
            "change": float((frame["e2sfca_after_w"].sum() - frame["e2sfca_before_w"].sum()) / total),
        },
        "lsoas_changed": len(changed_areas),
    }
    return ScenarioComparison(
        before=before.applied,
        after=after.applied,
        method=travel_times.method,
        profile=travel_times.profile,
        headline_minutes=headline,
        population=options.population,
        coverage_before=before.coverage,
        coverage_after=after.coverage,
        summary=summary,
        by_imd_decile=_impact(frame, "imd_decile", DECILES),
        by_idaci_decile=_impact(frame, "idaci_decile", DECILES),
        by_ward=by_ward,
        by_lsoa=by_lsoa,
        session_types=session_types,
        changed_areas=changed_areas,
    )


# --------------------------------------------------------------------------------------------
# The committee-report fragment


def _count(value: float) -> str:
    return f"{value:,.0f}"


def _share(value: float) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.1%}"


def _signed(value: float, digits: int = 0) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:+,.{digits}f}"


def _html_table(frame: pd.DataFrame, columns: Sequence[tuple[str, str, Any]]) -> str:
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label, _ in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(fmt(row[key]))}</td>" for key, _, fmt in columns) + "</tr>"
        for row in frame.to_dict("records")
    )
    return f'<table class="geoplan-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


IMPACT_HTML = (
    ("children", "Children", _count),
    ("covered_before", "Covered before", _count),
    ("covered_after", "Covered after", _count),
    ("change", "Change", _signed),
    ("share_before", "Share before", _share),
    ("share_after", "Share after", _share),
    ("share_change_pts", "Change (points)", lambda value: _signed(value, 1)),
    ("children_losing", "Losing", _count),
    ("children_gaining", "Gaining", _count),
    ("e2sfca_change", "E2SFCA change", lambda value: _signed(value, 2)),
)


def _report_html(comparison: ScenarioComparison) -> str:
    summary = comparison.summary
    before, after = comparison.before.scenario, comparison.after.scenario
    minutes = f"{comparison.headline_minutes:g}"
    esc = html.escape
    parts = [
        f'<section class="geoplan-scenario" id="scenario-{esc(comparison.stem)}">',
        f"<h2>{esc(after.title)}</h2>",
        f"<p>Compared with: {esc(before.title)}.</p>",
    ]
    if after.description:
        parts.append(f"<p>{esc(after.description.strip())}</p>")
    changes = describe_changes(after)
    if changes:
        parts.append("<ul>" + "".join(f"<li>{esc(line)}</li>" for line in changes) + "</ul>")
    deprived = summary["most_deprived_30"]
    parts.append(
        "<p>"
        + esc(
            f"Children's centres: {summary['centres_before']} before, {summary['centres_after']} after. "
            f"Children {POPULATION_LABELS[comparison.population]} within a {minutes}-minute walk "
            f"({comparison.profile} pace) of a centre: {_count(summary['covered_before'])} "
            f"({_share(summary['share_before'])}) before, {_count(summary['covered_after'])} "
            f"({_share(summary['share_after'])}) after; {_count(summary['children_losing'])} lose and "
            f"{_count(summary['children_gaining'])} gain that walk. In the 30% most deprived LSOAs nationally "
            f"(IMD deciles 1-3), {_count(deprived['children_losing'])} of {_count(deprived['children'])} "
            f"children lose it and {_count(deprived['children_gaining'])} gain it."
        )
        + "</p>"
    )
    parts.append(
        "<p>"
        + esc(
            f"Accessibility (E2SFCA, sessions per week per {E2SFCA_PER_CHILDREN:,} children): "
            f"{summary['e2sfca']['before']:.2f} before, {summary['e2sfca']['after']:.2f} after "
            f"({_signed(summary['e2sfca']['change'], 2)}). Children within {minutes} minutes of any venue "
            f"hosting sessions: {_count(summary['session_venues']['covered_before'])} before, "
            f"{_count(summary['session_venues']['covered_after'])} after."
        )
        + "</p>"
    )
    parts.append(f"<h3>Equality impact by IMD decile (1 = most deprived), {esc(minutes)}-minute walk</h3>")
    parts.append(_html_table(comparison.by_imd_decile, [("imd_decile", "IMD decile", str), *IMPACT_HTML]))
    parts.append(f"<h3>Equality impact by IDACI decile, {esc(minutes)}-minute walk</h3>")
    parts.append(_html_table(comparison.by_idaci_decile, [("idaci_decile", "IDACI decile", str), *IMPACT_HTML]))
    parts.append(f"<h3>Equality impact by ward, {esc(minutes)}-minute walk</h3>")
    parts.append(_html_table(comparison.by_ward, [("ward_name", "Ward", str), *IMPACT_HTML]))
    moved = comparison.session_types[
        (comparison.session_types["children_losing"] > 0) | (comparison.session_types["children_gaining"] > 0)
    ]
    if not moved.empty:
        parts.append(f"<h3>Reach of session types that change ({esc(minutes)}-minute walk)</h3>")
        parts.append(
            _html_table(
                moved,
                [("session_type", "Session type", lambda value: str(value).replace("_", " ")),
                 ("venues_before", "Venues before", str), ("venues_after", "Venues after", str),
                 ("covered_before", "Children before", _count), ("covered_after", "Children after", _count),
                 ("children_losing", "Losing", _count), ("children_gaining", "Gaining", _count)],
            )
        )  # fmt: skip
    uncounted = comparison.before.uncounted() + [
        row for row in comparison.after.uncounted() if row not in comparison.before.uncounted()
    ]
    if uncounted:
        parts.append(
            "<p><strong>Not counted:</strong> "
            + esc("; ".join(f"{row['note']} ({row['role']})" for row in uncounted))
            + ".</p>"
        )
    parts.append(
        "<p class=\"geoplan-method\">"
        + esc(
            f"Method: walking times are {comparison.method} estimates at {comparison.profile} pace; children "
            "are Census 2021 counts shared among postcodes and reported by LSOA, ward and national decile; "
            "deprivation is the English Indices of Deprivation 2025."
        )
        + "</p>"
    )
    parts.append("</section>")
    return "\n".join(parts) + "\n"
