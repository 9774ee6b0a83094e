"""The scenario file schema (version 1): settings and the four changes, validated by pydantic.

A scenario is an ordered list of changes (``close``, ``open``, ``move_sessions``, ``redesignate``)
applied to the programme the venue and session files of one study area describe. ``base`` names
that study area: a shipped layer catalogue by name (``bexley``), or a catalogue path relative to
the scenario file, so a file validates wherever it is copied. A file without ``base`` is for the
study area it is run on: the workspace (``--area``) it is applied to, else ``settings.default_area``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from geoplan import resources, settings
from geoplan.bands import DEFAULT_BANDS, HEADLINE_MINUTES, MAX_BAND_MINUTES, check_bands
from geoplan.errors import InputError, ScenarioError
from geoplan.network import get_profile
from geoplan.validation import exactly_one, supported_version
from geoplan.venues import MAX_CAPACITY, MAX_SESSIONS_PER_WEEK, STATUSES_2021, VENUE_KINDS

SCENARIO_VERSION = 1
#: Name accepted by ``--against`` for the programme the venue and session files describe.
BASELINE = "baseline"
POPULATIONS = ("children_0_4", "under_3", "under_2")
NAME_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
CHANGE_KINDS = ("close", "open", "move_sessions", "redesignate")
#: Folder of the shipped scenarios.
SCENARIO_DIR = resources.scenarios_dir()
#: Suffix of a layer catalogue file.
CATALOGUE_SUFFIX = ".yaml"

Loc = tuple[str | int, ...]


def format_loc(loc: Loc) -> str:
    """``('changes', 2, 'close')`` → ``changes[2].close``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def line_of(lines: dict[Loc, int], loc: Loc) -> int | None:
    """Line of ``loc`` in its file, or of the nearest enclosing field that has one."""
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def catalogue_path(base: str | Path, *, folder: Path | None = None) -> Path:
    """The layer catalogue ``base`` names: a shipped catalogue's name, or a path (relative to ``folder``)."""
    text = str(base)
    if "/" not in text and "\\" not in text and not text.endswith(CATALOGUE_SUFFIX):
        return (resources.layers_dir() / f"{text}{CATALOGUE_SUFFIX}").resolve()
    path = Path(text)
    if path.is_absolute():
        return path
    return ((folder if folder is not None else SCENARIO_DIR) / path).resolve()


def base_accepts() -> str:
    """What ``base`` accepts, for messages: the shipped catalogues' names, a catalogue path, or nothing."""
    shipped = ", ".join(sorted(path.stem for path in resources.layers_dir().glob(f"*{CATALOGUE_SUFFIX}")))
    return (
        f"base names a study area: a shipped catalogue ({shipped}) or a layer catalogue file's path; "
        "without base, a scenario is for the study area it is run on"
    )


def catalogue_reference(path: Path) -> str:
    """How a saved scenario names the catalogue ``path``: its name when shipped, else its absolute path."""
    path = Path(path).resolve()
    if path.parent == resources.layers_dir().resolve() and path.suffix == CATALOGUE_SUFFIX:
        return path.stem
    return path.as_posix()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ScenarioSettings(_Strict):
    """How a scenario is measured."""

    bands: tuple[float, ...] = DEFAULT_BANDS
    profile: str | float = "buggy"
    headline_minutes: float = Field(default=HEADLINE_MINUTES, gt=0, le=MAX_BAND_MINUTES)
    population: Literal[POPULATIONS] = "children_0_4"

    @field_validator("bands")
    @classmethod
    def _valid_bands(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        try:
            return check_bands(value, field="bands")
        except InputError as exc:
            raise ValueError(_reason(exc)) from None

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str | float) -> str | float:
        """A profile name or a speed in km/h, the vocabulary of ``--profile``."""
        try:
            pace = get_profile(value)
        except InputError as exc:
            raise ValueError(_reason(exc)) from None
        return value if isinstance(value, str) and pace.name == value else pace.speed_kmh

    @field_validator("headline_minutes")
    @classmethod
    def _headline_in_range(cls, value: float) -> float:
        try:
            return check_bands([value], field="headline_minutes")[0]
        except InputError as exc:
            raise ValueError(_reason(exc)) from None

    @model_validator(mode="after")
    def _headline_in_bands(self) -> ScenarioSettings:
        if self.headline_minutes not in self.bands:
            self.bands = tuple(sorted({*self.bands, self.headline_minutes}))
        return self

    @property
    def profile_name(self) -> str:
        """The profile's name as travel-time matrices record it (``buggy``, ``4.5kmh``)."""
        return get_profile(self.profile).name


class NewSession(_Strict):
    """A session run at a venue the scenario opens."""

    session_id: str = Field(min_length=1)
    title: str
    session_type: str
    day: str = ""
    frequency: str = "weekly"
    sessions_per_week: float = Field(default=1.0, ge=0, le=MAX_SESSIONS_PER_WEEK)
    age_group: str = "under_5"
    capacity: float | None = Field(default=None, ge=0, le=MAX_CAPACITY)
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
        grid = self.x is not None or self.y is not None
        geographic = self.lon is not None or self.lat is not None
        if sum([self.postcode is not None, grid, geographic]) != 1:
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
        exactly_one(self, CHANGE_KINDS, rule="a change has")
        return self

    @property
    def kind(self) -> str:
        """Which of the four changes this is."""
        return exactly_one(self, CHANGE_KINDS, rule="a change has")


class Scenario(_Strict):
    """A validated scenario file."""

    version: int
    name: str = Field(pattern=NAME_PATTERN, max_length=120)
    title: str = Field(min_length=1, max_length=300)
    description: str = ""
    base: str | None = None
    settings: ScenarioSettings = Field(default_factory=ScenarioSettings)
    changes: list[Change] = Field(default_factory=list)

    _path: Path | None = PrivateAttr(default=None)
    _lines: dict[Loc, int] = PrivateAttr(default_factory=dict)

    @field_validator("version")
    @classmethod
    def _supported_version(cls, value: int) -> int:
        return supported_version(value, supported=SCENARIO_VERSION, what="scenario")

    @field_validator("base", mode="before")
    @classmethod
    def _base_text(cls, value: object) -> str:
        if isinstance(value, Path):
            return value.as_posix()
        if not isinstance(value, str) or not value.strip():
            raise ValueError(base_accepts())
        return value.strip()

    def located(self, path: Path | None, lines: dict[Loc, int] | None = None) -> Scenario:
        """This scenario, recorded as read from ``path`` with the line of each field."""
        self._path = path
        self._lines = dict(lines or {})
        return self

    @property
    def path(self) -> Path | None:
        """The file the scenario was read from (``None`` for the baseline or an edit)."""
        return self._path

    def line(self, loc: Loc) -> int | None:
        """The line of the field at ``loc`` in the scenario's file."""
        return line_of(self._lines, loc)

    def base_path(self) -> Path:
        """The layer catalogue: a shipped one by name, or a path resolved against the scenario file's folder.

        A scenario naming none is for ``settings.default_area`` unless :meth:`on_area` gave it another.
        """
        if self.base is None:
            return Path(settings.default_area).resolve()
        return catalogue_path(self.base, folder=self._path.parent if self._path is not None else None)

    def on_area(self, area: str | Path) -> Scenario:
        """This scenario, for the study area ``area`` (a layer catalogue path) when its file names none."""
        if self.base is not None:
            return self
        return self.model_copy(update={"base": catalogue_reference(Path(area))})

    def error(self, message: str, loc: Loc) -> ScenarioError:
        """An error about the field at ``loc``, naming its line."""
        return ScenarioError(message, path=self._path or BASELINE, line=self.line(loc), field=format_loc(loc))


def baseline_scenario(base: str | Path | None = None) -> Scenario:
    """The programme the venue and session files describe, as a scenario with no changes.

    ``base`` is the study area's layer catalogue; without it, the scenario is for the area it is run on.
    """
    scenario = Scenario(
        version=SCENARIO_VERSION,
        name=BASELINE,
        title="Current programme (venue and session files)",
        description="Every venue not closed before 2021 is open; centres are those of a children's-centre kind.",
    )
    return scenario if base is None else scenario.on_area(Path(base).resolve())


def _reason(exc: Exception) -> str:
    """An error's message without its ``file, field: `` prefix."""
    text = str(exc)
    return text.split(": ", 1)[-1] if isinstance(exc, InputError) and ": " in text else text
