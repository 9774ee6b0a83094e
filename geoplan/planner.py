"""The planner's engine: one scenario per browser session, re-measured on cached travel times.

A :class:`PlannerSession` holds the scenario a planner is editing as a list of scenario changes
(:mod:`geoplan.scenarios`, schema version 1), so whatever is on screen can be saved as a scenario
file and loaded back. Every edit re-applies the changes and re-measures coverage on the travel-time
matrix the server loaded once per walking profile (:class:`PlannerResources`, shared read-only by
all sessions): no network is rebuilt, so an edit takes a fraction of a second.

Nothing here knows about Panel; ``apps/planner.py`` is the user interface over this module.
"""

from __future__ import annotations

import functools
import os
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from geoplan import resources, settings
from geoplan.coverage import CoverageResult, GapWeights, measure_coverage, minutes_to_nearest
from geoplan.errors import InputError
from geoplan.scenarios import (
    BASELINE,
    PROFILES,
    SCENARIO_DIR,
    AppliedScenario,
    Change,
    Scenario,
    ScenarioComparison,
    ScenarioError,
    ScenarioSettings,
    apply_scenario,
    baseline_scenario,
    compare,
    describe_changes,
    load_scenario,
    resolve_scenario,
)
from geoplan.studyarea import StudyArea, load_study_area
from geoplan.venues import POSTCODE_PATTERN, normalise_postcode

#: How many gaps the metrics list.
TOP_GAPS = 10
#: Kinds offered as places to add a children's centre (a hub in a library, a community venue, ...).
CANDIDATE_KINDS = ("library", "community_centre", "early_years_site", "school", "faith_hall", "leisure_centre",
                   "health_clinic", "childrens_centre", "send_hub")  # fmt: skip
#: Outreach visits a month in the planner's outreach view (seed 003: one practitioner, visits at
#: least monthly in the north and every two months elsewhere).
OUTREACH_VISITS_PER_MONTH = 6
#: Suffix of the id given to a venue re-opened after it closed in the venue file.
REOPENED_SUFFIX = "-reopened"
#: Suffix added to a scenario's name once the planner has changed it.
EDITED_SUFFIX = "-edited"
#: Largest uploaded scenario accepted (bytes); a scenario file is a few kilobytes.
MAX_UPLOAD_BYTES = 1_000_000


def _located(applied: AppliedScenario, venue_ids: Iterable[str]) -> list[str]:
    available = set(applied.travel_times.destination_ids)
    return [venue for venue in venue_ids if venue in available]


def _nearest_minutes(applied: AppliedScenario, venue_ids: Iterable[str]) -> np.ndarray:
    """Minutes to the nearest located venue of ``venue_ids`` (``inf`` everywhere when there is none)."""
    located = _located(applied, venue_ids)
    if not located:
        return np.full(len(applied.travel_times.origin_ids), np.inf)
    return minutes_to_nearest(applied.travel_times, located)


def _session_venues(applied: AppliedScenario) -> list[str]:
    """Open venues hosting at least one session."""
    configuration = applied.configuration
    return configuration.venue_ids(session_types=set(configuration.sessions["session_type"]))


def _reason(exc: Exception) -> str:
    """The message of a scenario error without its file/line prefix (the planner has no file)."""
    return str(exc).split(": ", 1)[-1]


@dataclass
class PlannerResources:
    """What every session of one server process shares, read-only: the study area and travel times."""

    area_path: Path
    area: StudyArea
    _travel_times: dict[str, Any] = field(default_factory=dict)
    _baselines: dict[str, AppliedScenario] = field(default_factory=dict)
    _baseline_coverage: dict[tuple[str, float, str], CoverageResult] = field(default_factory=dict)
    _outreach: dict[tuple[str, float, int], Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def travel_times(self, profile: str) -> Any:
        """The origin × venue matrix for ``profile``, computed once per process."""
        if profile not in PROFILES:
            msg = f"unknown walking profile {profile!r}; use {' or '.join(PROFILES)}"
            raise InputError(msg, field="profile")
        with self._lock:
            if profile not in self._travel_times:
                from geoplan.traveltime import study_area_travel_times

                self._travel_times[profile] = study_area_travel_times(self.area, profile=profile)
            return self._travel_times[profile]

    def baseline(self, profile: str) -> AppliedScenario:
        """The baseline programme applied with the ``profile`` travel times, computed once per process."""
        travel_times = self.travel_times(profile)
        with self._lock:
            if profile not in self._baselines:
                self._baselines[profile] = apply_scenario(self.area, baseline_scenario(self.area_path), travel_times)
            return self._baselines[profile]

    def coverage(self, applied: AppliedScenario, *, band: float, population: str) -> CoverageResult:
        """Coverage of ``applied``'s located centres at ``band`` (the baseline's is kept once computed)."""
        key = (applied.travel_times.profile, band, population)
        if applied is self._baselines.get(applied.travel_times.profile) and key in self._baseline_coverage:
            return self._baseline_coverage[key]
        centres = _located(applied, applied.configuration.centre_ids)
        result = measure_coverage(self.area, applied.travel_times, venue_ids=centres, bands=(band,),
                                  population=population)  # fmt: skip
        if applied is self._baselines.get(applied.travel_times.profile):
            with self._lock:
                self._baseline_coverage[key] = result
        return result

    def outreach(self, profile: str, *, band: float, visits_per_month: int) -> Any:
        """Next month's outreach plan (:class:`geoplan.outreach.OutreachPlan`), computed once per process."""
        from geoplan.outreach import plan_outreach

        key = (profile, band, visits_per_month)
        travel_times = self.travel_times(profile)
        with self._lock:
            if key not in self._outreach:
                self._outreach[key] = plan_outreach(
                    self.area, travel_times, months=1, visits_per_month=visits_per_month, profile=profile,
                    group_minutes=band, centre_minutes=band,
                )  # fmt: skip
            return self._outreach[key]

    def shipped_scenarios(self) -> dict[str, Path]:
        """Shipped scenario files of this study area, by name."""
        found = {}
        for path in sorted(SCENARIO_DIR.glob("*.yaml")):
            scenario = load_scenario(path)
            if scenario.base_path() == self.area_path:
                found[scenario.name] = path
        return found


@functools.cache
def _resources(area_path: Path, data_dir: Path | None) -> PlannerResources:
    return PlannerResources(area_path=area_path, area=load_study_area(area_path, data_dir=data_dir))


def shared_resources(
    area: str | os.PathLike[str] | None = None, *, data_dir: str | os.PathLike[str] | None = None
) -> PlannerResources:
    """The resources of the study area ``area`` (a layer catalogue), loaded once per process."""
    area_path = Path(area or settings.default_area).resolve()
    return _resources(area_path, Path(data_dir).resolve() if data_dir is not None else None)


def _plain(value: object) -> object:
    """YAML-friendly numbers: ``15.0`` is written ``15``."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def scenario_yaml(scenario: Scenario) -> str:
    """A scenario as the YAML of ``scenarios/`` (schema version 1)."""
    data = {
        "version": scenario.version,
        "name": scenario.name,
        "title": scenario.title,
        "description": scenario.description,
        "base": Path(os.path.relpath(scenario.base_path(), SCENARIO_DIR)).as_posix(),
        "settings": scenario.settings.model_dump(mode="json"),
        "changes": [
            change.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
            for change in scenario.changes
        ],
    }
    return yaml.safe_dump(_plain(data), sort_keys=False, allow_unicode=True, width=100)


class PlannerSession:
    """One planner's scenario, edited change by change and measured against the baseline.

    Parameters
    ----------
    resources
        The study area and travel times shared by the server's sessions.
    scenario
        The scenario to start from (the baseline programme when omitted).

    Notes
    -----
    Each edit appends to (or removes from) the scenario's list of changes and re-applies it; an
    edit the scenario engine rejects (moving a session to a closed venue, closing the last
    centre) raises :class:`~geoplan.errors.InputError` and leaves the session as it was.
    """

    def __init__(self, resources: PlannerResources, *, scenario: Scenario | None = None) -> None:
        self.resources = resources
        self.area = resources.area
        self._baseline = baseline_scenario(resources.area_path)
        self._scenario = self._baseline
        self._applied: AppliedScenario | None = None
        self._metrics: dict[str, object] | None = None
        self._comparison: ScenarioComparison | None = None
        self._tables: dict[str, pd.DataFrame] = {}
        self._commit(scenario or self._baseline)

    # ----------------------------------------------------------------------------------------
    # State

    @property
    def scenario(self) -> Scenario:
        """The scenario being edited."""
        return self._scenario

    @property
    def applied(self) -> AppliedScenario:
        """The scenario applied to the study area (configuration and travel times with opened venues)."""
        assert self._applied is not None
        return self._applied

    @property
    def band(self) -> float:
        """The walking band (minutes) the metrics are given at."""
        return self._scenario.settings.headline_minutes

    @property
    def population(self) -> str:
        """Which children are counted (``children_0_4``, ``under_3`` or ``under_2``)."""
        return self._scenario.settings.population

    @property
    def profile(self) -> str:
        """The walking profile of the travel times."""
        return self._scenario.settings.profile

    def _travel_times(self, profile: str | None = None) -> Any:
        return self.resources.travel_times(profile or self.profile)

    def _commit(self, scenario: Scenario, *, source: str | None = None) -> None:
        """Apply ``scenario``; keep it only if the engine accepts it and a located centre is left.

        ``source`` names the file the scenario came from in error messages (with its line and
        field); without it the scenario is an edit and errors give only the reason.
        """
        if scenario.base_path() != self.resources.area_path:
            msg = f"the scenario is for {scenario.base_path()}, not for the study area of this planner"
            raise InputError(msg, path=source, field="base")
        travel_times = self._travel_times(scenario.settings.profile)
        try:
            applied = apply_scenario(self.area, scenario, travel_times)
        except ScenarioError as exc:
            if source is None:
                raise InputError(_reason(exc), field=exc.field) from None
            raise InputError(str(exc).replace(str(scenario.path), source)) from None
        located = set(applied.travel_times.destination_ids)
        if not any(venue in located for venue in applied.configuration.centre_ids):
            msg = "no open children's centre with a known location would be left"
            raise InputError(msg, path=source, field="venues")
        self._scenario, self._applied = scenario, applied
        self._metrics = self._comparison = None
        self._tables = {}

    def _table(self, name: str, build: Any) -> pd.DataFrame:
        """A table of the current state, built once per state (callers get a copy they may change)."""
        if name not in self._tables:
            self._tables[name] = build()
        return self._tables[name].copy()

    def _edited(self, changes: list[Change] | None = None, **settings_update: object) -> Scenario:
        """A copy of the scenario with new changes and/or settings, marked as edited."""
        current = self._scenario
        name, title = current.name, current.title
        if not name.endswith(EDITED_SUFFIX):
            name, title = f"{name}{EDITED_SUFFIX}", f"{title} (edited in the planner)"
        options = current.settings.model_dump()
        if "headline_minutes" in settings_update:
            options["bands"] = tuple(sorted({*options["bands"], settings_update["headline_minutes"]}))
        options.update(settings_update)
        scenario = Scenario(
            version=current.version,
            name=name,
            title=title,
            description=current.description,
            base=current.base,
            settings=ScenarioSettings.model_validate(options),
            changes=list(current.changes) if changes is None else changes,
        )
        scenario._path = current.path
        return scenario

    def _venue(self, venue_id: str) -> pd.Series:
        venues = self.applied.venues.set_index("venue_id", drop=False)
        if venue_id not in venues.index:
            msg = f"unknown venue id {venue_id!r}"
            raise InputError(msg, field="venue_id")
        return venues.loc[venue_id]

    # ----------------------------------------------------------------------------------------
    # Edits

    def toggle_venue(self, venue_id: str, open: bool) -> None:  # noqa: A002 - the planner's word
        """Open or close a venue.

        Closing appends a ``close`` change (or drops the ``open`` change of a venue this scenario
        added). Opening undoes this scenario's ``close``; a venue closed in the venue file is
        re-opened as a new venue ``<id>-reopened`` at the same postcode, as the schema requires.
        """
        venue = self._venue(venue_id)
        if bool(venue["open"]) == open:
            return
        changes = list(self._scenario.changes)
        if not open:
            opening = [c for c in changes if c.open is not None and c.open.id == venue_id]
            if opening and not self._referenced(venue_id, changes, besides=opening[0]):
                changes.remove(opening[0])
            else:
                changes.append(Change(close=[venue_id]))
        else:
            closing = next((c for c in changes if c.close is not None and venue_id in c.close), None)
            if closing is not None:
                index = changes.index(closing)
                remaining = [item for item in closing.close if item != venue_id]
                if remaining:
                    changes[index] = Change(close=remaining)
                else:
                    del changes[index]
            else:
                reopened = f"{venue_id}{REOPENED_SUFFIX}"
                if reopened in set(self.applied.venues["venue_id"]):
                    msg = f"venue {venue_id!r} is already re-opened as {reopened!r}"
                    raise InputError(msg, field="venue_id")
                if not venue["postcode"]:
                    msg = f"venue {venue_id!r} has no postcode, so it cannot be re-opened on the map"
                    raise InputError(msg, field="postcode")
                changes.append(Change.model_validate({"open": {
                    "id": reopened, "name": f"{venue['name']} (re-opened)", "kind": venue["kind"],
                    "address": venue["address"], "postcode": venue["postcode"]}}))  # fmt: skip
        self._commit(self._edited(changes))

    @staticmethod
    def _referenced(venue_id: str, changes: list[Change], *, besides: Change) -> bool:
        for change in changes:
            if change is besides:
                continue
            if change.move_sessions is not None and venue_id in (change.move_sessions.to, change.move_sessions.from_):
                return True
            if change.redesignate is not None and change.redesignate.venue == venue_id:
                return True
            if change.close is not None and venue_id in change.close:
                return True
        return False

    def move_session(self, session_id: str, to_venue: str) -> None:
        """Run one session at another (open) venue."""
        sessions = self.applied.configuration.sessions.set_index("session_id")
        if session_id not in sessions.index:
            msg = f"unknown session id {session_id!r} (or it stopped when its venue closed)"
            raise InputError(msg, field="session_id")
        here = sessions.loc[session_id, "venue_id"]
        if here == to_venue:
            return
        move = {"from": here, "to": to_venue, "sessions": [session_id]}
        self._commit(self._edited([*self._scenario.changes, Change.model_validate({"move_sessions": move})]))

    def add_venue(self, target: str, *, name: str | None = None, kind: str = "childrens_centre") -> str:
        """Add a children's centre at a candidate venue (by id) or at a postcode; returns its venue id.

        An open venue of another kind (a library, a community centre) is redesignated as a centre;
        a closed one is re-opened; a postcode opens a new venue there.
        """
        target = target.strip()
        postcode = normalise_postcode(target)
        if POSTCODE_PATTERN.match(postcode):
            venue_id = "new-" + postcode.replace(" ", "").lower()
            venue = {"id": venue_id, "name": name or f"New {kind.replace('_', ' ')} ({postcode})", "kind": kind,
                     "postcode": postcode}  # fmt: skip
            try:
                change = Change.model_validate({"open": venue})
            except ValueError as exc:
                raise InputError(_reason(exc), field="kind") from None
            self._commit(self._edited([*self._scenario.changes, change]))
            return venue_id
        venue = self._venue(target)
        if not venue["open"]:
            self.toggle_venue(target, True)
            return target if bool(self._venue(target)["open"]) else f"{target}{REOPENED_SUFFIX}"
        if venue["kind"] == kind:
            msg = f"venue {target!r} is already a {kind}"
            raise InputError(msg, field="venue_id")
        change = Change.model_validate({"redesignate": {"venue": target, "kind": kind}})
        self._commit(self._edited([*self._scenario.changes, change]))
        return target

    def set_band(self, minutes: float) -> None:
        """Walking band (minutes) of the coverage, gain/loss and gap figures."""
        minutes = float(minutes)
        if not np.isfinite(minutes) or minutes <= 0:
            msg = f"walking band must be a positive number of minutes, got {minutes:g}"
            raise InputError(msg, field="minutes")
        if minutes != self.band:
            self._commit(self._edited(headline_minutes=minutes))

    def set_profile(self, profile: str) -> None:
        """Walking profile (``walk`` or ``buggy``) of the travel times."""
        if profile not in PROFILES:
            msg = f"unknown walking profile {profile!r}; use {' or '.join(PROFILES)}"
            raise InputError(msg, field="profile")
        if profile != self.profile:
            self._commit(self._edited(profile=profile))

    def load_scenario(self, name_or_path: str | os.PathLike[str]) -> None:
        """Start again from a shipped scenario (by name), a scenario file, or ``baseline``."""
        if str(name_or_path) == BASELINE:
            self._commit(self._baseline)
            return
        scenario = resolve_scenario(name_or_path)
        self._commit(scenario, source=str(scenario.path))

    def load_scenario_yaml(self, text: str | bytes, *, filename: str = "uploaded.yaml") -> None:
        """Replace the scenario with an uploaded scenario file's text.

        Relative ``base`` paths resolve as for a file in ``scenarios/``. A file that does not
        validate, or does not apply to this study area, raises :class:`InputError` naming the
        file, line and field, and the session keeps its scenario.
        """
        display = Path(filename).name or "uploaded.yaml"
        if isinstance(text, bytes):
            if len(text) > MAX_UPLOAD_BYTES:
                msg = f"file is larger than {MAX_UPLOAD_BYTES:,} bytes; a scenario file is a few kilobytes"
                raise InputError(msg, path=display)
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:
                msg = "not UTF-8 text"
                raise InputError(msg, path=display) from None
        with tempfile.TemporaryDirectory(prefix="geoplan-upload-") as folder:
            path = Path(folder) / "scenario.yaml"
            path.write_text(text, encoding="utf-8")
            try:
                scenario = load_scenario(path)
            except ScenarioError as exc:
                raise InputError(str(exc).replace(str(path), display)) from None
        scenario._path = SCENARIO_DIR / display
        self._commit(scenario, source=display)

    # ----------------------------------------------------------------------------------------
    # Outputs

    def to_scenario_yaml(self) -> str:
        """The scenario as a file of ``scenarios/`` (the same schema)."""
        return scenario_yaml(self._scenario)

    def comparison(self) -> ScenarioComparison:
        """The scenario compared with the baseline programme (the ``scenario run`` engine)."""
        if self._comparison is None:
            self._comparison = compare(self.area, self._travel_times(), self._baseline, self._scenario)
        return self._comparison

    def centre_minutes(self) -> np.ndarray:
        """Minutes from each child origin to the nearest open, located centre."""
        return _nearest_minutes(self.applied, self.applied.configuration.centre_ids)

    def metrics(self) -> dict[str, object]:
        """Coverage to centres at the band (overall, by IMD and IDACI decile), gains and losses, top gaps.

        The figures are those of :func:`geoplan.scenarios.compare` against the baseline at the
        band, computed with the same engine calls but only for the one band, so that an edit is
        re-measured in well under a second.

        Returns
        -------
        dict
            JSON-safe: ``band``, ``profile``, ``method``, ``children``, ``covered``, ``share``,
            ``baseline_covered``, ``baseline_share``, ``children_gaining``, ``children_losing``
            (a walk to a centre, versus the baseline), ``most_deprived_30`` (covered/total/share),
            ``by_imd_decile`` and ``by_idaci_decile`` (lists of decile/covered/total/share/
            baseline_share), ``session_venues`` (covered/children_gaining/children_losing),
            ``top_gaps`` (LSOAs ranked by need), ``centres`` and ``changes`` (plain English).
        """
        if self._metrics is not None:
            return self._metrics
        band, population = self.band, self.population
        after = self.resources.coverage(self.applied, band=band, population=population)
        baseline = self.resources.baseline(self.profile)
        before = self.resources.coverage(baseline, band=band, population=population)
        children = self.area.children[population].to_numpy(dtype=float)
        centres_before = _nearest_minutes(baseline, baseline.configuration.centre_ids) <= band
        centres_after = self.centre_minutes() <= band
        sessions_before = _nearest_minutes(baseline, _session_venues(baseline)) <= band
        sessions_after = _nearest_minutes(self.applied, _session_venues(self.applied)) <= band

        def deciles(kind: str) -> list[dict[str, object]]:
            column = f"{kind}_decile"
            rows_after = getattr(after, f"by_{kind}_decile").set_index(column)
            rows_before = getattr(before, f"by_{kind}_decile").set_index(column)
            return [
                {"decile": int(decile), "covered": float(row["covered"]), "total": float(row["total"]),
                 "share": float(row["share"]), "baseline_share": float(rows_before.loc[decile, "share"])}
                for decile, row in rows_after.iterrows()
            ]  # fmt: skip

        overall = after.overall.loc[band]
        deprived = after.most_deprived_30.loc[band]
        self._metrics = {
            "scenario": self._scenario.name,
            "title": self._scenario.title,
            "band": band,
            "profile": self.profile,
            "method": after.method,
            "population": population,
            "children": float(overall["total"]),
            "covered": float(overall["covered"]),
            "share": float(overall["share"]),
            "baseline_covered": float(before.overall.loc[band, "covered"]),
            "baseline_share": float(before.overall.loc[band, "share"]),
            "children_gaining": float(children[~centres_before & centres_after].sum()),
            "children_losing": float(children[centres_before & ~centres_after].sum()),
            "most_deprived_30": {"covered": float(deprived["covered"]), "total": float(deprived["total"]),
                                 "share": float(deprived["share"])},  # fmt: skip
            "by_imd_decile": deciles("imd"),
            "by_idaci_decile": deciles("idaci"),
            "session_venues": {
                "covered": float(children[sessions_after].sum()),
                "children_gaining": float(children[~sessions_before & sessions_after].sum()),
                "children_losing": float(children[sessions_before & ~sessions_after].sum()),
            },
            "top_gaps": self.gaps().head(TOP_GAPS).to_dict("records"),
            "centres": list(self.applied.configuration.centre_ids),
            "changes": describe_changes(self._scenario),
        }
        return self._metrics

    def gaps(self, weights: GapWeights = GapWeights()) -> pd.DataFrame:
        """LSOAs whose children are beyond the band of a centre, ranked by need.

        The same need as :func:`geoplan.coverage.find_gaps` (children × deprivation weight ×
        minutes beyond the band), without the postcode clustering, so it is quick enough to
        recompute on every edit.
        """
        return self._table(f"gaps-{weights}", lambda: self._gaps(weights))

    def _gaps(self, weights: GapWeights) -> pd.DataFrame:
        minutes = self.centre_minutes()
        children = self.area.children
        walked = np.where(np.isfinite(minutes), minutes, weights.unreachable_minutes)
        excess = np.clip(walked - self.band, 0, None)
        count = children["children_0_4"].to_numpy(dtype=float)
        need = count * weights.weight(children[weights.index]).to_numpy() * excess
        frame = pd.DataFrame({"lsoa_code": children["lsoa_code"].to_numpy(), "need": need,
                              "children_beyond": np.where(excess > 0, count, 0.0),
                              "minutes": np.where(excess > 0, minutes, np.nan)})  # fmt: skip
        frame = frame[(frame["children_beyond"] > 0)]
        per_lsoa = frame.groupby("lsoa_code").agg(
            need=("need", "sum"), children_beyond=("children_beyond", "sum"), nearest_minutes=("minutes", "min")
        )
        info = self.area.lsoas.set_index("lsoa_code")[["lsoa_name", "ward_name", "imd_decile", "idaci_decile"]]
        table = info.join(per_lsoa, how="inner").sort_values("need", ascending=False).reset_index()
        table.insert(0, "rank", np.arange(1, len(table) + 1))
        table["nearest_minutes"] = table["nearest_minutes"].where(np.isfinite(table["nearest_minutes"]), None)
        for column in ("imd_decile", "idaci_decile", "rank"):
            table[column] = table[column].astype(int)
        return table

    def venues_table(self) -> pd.DataFrame:
        """Every venue of the scenario: open, centre, kind, status, sessions hosted, location."""
        return self._table("venues", self._venues_table)

    def _venues_table(self) -> pd.DataFrame:
        venues = self.applied.venues
        configuration = self.applied.configuration
        hosted = configuration.sessions.groupby("venue_id").size()
        table = pd.DataFrame({
            "venue_id": venues["venue_id"], "name": venues["name"], "kind": venues["kind"],
            "status": venues["status"], "open": venues["open"].astype(bool),
            "centre": venues["venue_id"].isin(configuration.centre_ids),
            "sessions": venues["venue_id"].map(hosted).fillna(0).astype(int),
            "located": venues["located"].astype(bool),
            "x": [point.x if point is not None and not point.is_empty else np.nan for point in venues.geometry],
            "y": [point.y if point is not None and not point.is_empty else np.nan for point in venues.geometry],
        })  # fmt: skip
        return table.reset_index(drop=True)

    def sessions_table(self) -> pd.DataFrame:
        """Sessions running in the scenario, with the venue each runs at and the one it ran at first."""
        return self._table("sessions", self._sessions_table)

    def _sessions_table(self) -> pd.DataFrame:
        sessions = self.applied.configuration.sessions
        names = self.applied.venues.set_index("venue_id")["name"]
        baseline = self.area.sessions.set_index("session_id")["venue_id"]
        return pd.DataFrame({
            "session_id": sessions["session_id"], "title": sessions["title"],
            "session_type": sessions["session_type"], "day": sessions["day"],
            "venue_id": sessions["venue_id"], "venue": sessions["venue_id"].map(names),
            "baseline_venue_id": sessions["session_id"].map(baseline),
        }).reset_index(drop=True)  # fmt: skip

    def candidate_venues(self) -> pd.DataFrame:
        """Located venues that could become a children's centre (not centres already)."""
        table = self.venues_table()
        return table[table["located"] & ~table["centre"] & table["kind"].isin(CANDIDATE_KINDS)].reset_index(drop=True)

    def outreach(self, *, visits_per_month: int = OUTREACH_VISITS_PER_MONTH) -> Any:
        """Community groups to visit next month: :func:`geoplan.outreach.plan_outreach` at the band.

        The outreach plan weighs children by deprivation and by whether a baseline centre is
        within the band, so it does not change with the scenario; it is computed once per
        server process for each profile, band and budget.
        """
        return self.resources.outreach(self.profile, band=self.band, visits_per_month=visits_per_month)

    def report_html(self) -> str:
        """The committee report (:mod:`geoplan.report`) of the scenario compared with the baseline programme.

        One self-contained page with the committee map and figure, as ``geoplan report`` writes it.
        """
        from geoplan.figure import png_bytes
        from geoplan.maps import render_html
        from geoplan.report import Committee, committee_figure, committee_map, committee_report, measure_view

        comparison = self.comparison()
        views = [
            measure_view(self.area, comparison.before, coverage=comparison.coverage_before),
            measure_view(self.area, comparison.after, coverage=comparison.coverage_after),
        ]
        committee = Committee(area=self.area, views=views, comparison=comparison)
        return committee_report(
            committee,
            map_html=render_html(committee_map(committee)),
            figure_png=png_bytes(committee_figure(committee)),
        )


#: Addresses that only this machine can reach; binding anywhere else needs authentication.
LOCAL_ADDRESSES = ("127.0.0.1", "localhost", "::1")
#: The Panel app ``geoplan serve`` runs.
APP_PATH = resources.app_file()


def serve_arguments(
    *,
    port: int,
    address: str,
    area: str | os.PathLike[str] | None = None,
    basic_auth: str | None = None,
    oauth_provider: str | None = None,
    cookie_secret: str | None = None,
    allow_websocket_origin: Iterable[str] = (),
    environ: dict[str, str] | None = None,
) -> list[str]:
    """The ``panel serve`` command line of the planner, refusing a public address without authentication.

    Authentication is Panel's: ``basic_auth`` / ``oauth_provider`` here or the ``PANEL_BASIC_AUTH`` /
    ``PANEL_OAUTH_PROVIDER`` environment variables.

    Raises
    ------
    InputError
        ``address`` is not a local address and no authentication is configured, or the port is invalid.
    """
    environ = os.environ if environ is None else environ
    if not 0 < port < 2**16:
        msg = f"port must be between 1 and 65535, got {port}"
        raise InputError(msg, field="port")
    authenticated = any(
        [basic_auth, oauth_provider, environ.get("PANEL_BASIC_AUTH"), environ.get("PANEL_OAUTH_PROVIDER")]
    )
    if address not in LOCAL_ADDRESSES and not authenticated:
        msg = (
            f"refusing to serve on {address} without authentication; give --basic-auth or --oauth-provider "
            "(or set PANEL_BASIC_AUTH / PANEL_OAUTH_PROVIDER), or serve on 127.0.0.1"
        )
        raise InputError(msg, field="address")
    area_path = Path(area or settings.default_area)
    if not area_path.is_file():
        msg = "layer catalogue not found"
        raise InputError(msg, path=area_path, field="area")
    host = "localhost" if address in LOCAL_ADDRESSES else address
    origins = list(dict.fromkeys([*allow_websocket_origin, f"localhost:{port}", f"127.0.0.1:{port}", f"{host}:{port}"]))
    argv = ["panel", "serve", str(APP_PATH), "--port", str(port), "--address", address, "--log-level", "warning"]
    for origin in origins:
        argv += ["--allow-websocket-origin", origin]
    if basic_auth:
        argv += ["--basic-auth", basic_auth]
    if oauth_provider:
        argv += ["--oauth-provider", oauth_provider]
    if cookie_secret:
        argv += ["--cookie-secret", cookie_secret]
    return argv
