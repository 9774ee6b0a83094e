"""The planner's engine: one scenario per browser session, measured by the scenario engine.

A :class:`PlannerSession` holds the scenario a planner is editing as a list of scenario changes
(:mod:`geoplan.scenarios`, schema version 1), so whatever is on screen can be saved as a scenario
file and loaded back. Every edit re-applies the changes and compares the scenario with the current
programme through :func:`geoplan.scenarios.compare` — the engine of ``geoplan scenario run`` and
the committee report — on the travel times of a shared :class:`~geoplan.workspace.Workspace`, so
the app shows the same numbers as the report and an edit takes a fraction of a second.

Nothing here knows about Panel; ``apps/planner_app.py`` is the user interface over this module.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import date
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from geoplan.bands import MAX_BAND_MINUTES
from geoplan.coverage import GapWeights, find_gaps
from geoplan.errors import InputError, ScenarioError
from geoplan.scenarios import (
    BASELINE,
    POPULATION_LABELS,
    SCENARIO_DIR,
    AppliedScenario,
    Change,
    Scenario,
    ScenarioComparison,
    baseline_scenario,
    compare,
    describe_changes,
    kind_labels,
    load_scenario,
    parse_scenario,
    plain_label,
    resolve_scenario,
    scenario_yaml,
)
from geoplan.scenarios.edits import EditHistory, edited_scenario, mentions_venue, same_scenario
from geoplan.scenarios.load import scenario_token, token_yaml
from geoplan.scenarios.schema import NAME_PATTERN
from geoplan.scenarios.tables import impact_tables
from geoplan.text import json_safe
from geoplan.venues import POSTCODE_PATTERN, normalise_postcode
from geoplan.workspace import Workspace

#: How many gaps the planner lists.
TOP_GAPS = 10
#: Kinds offered as places to add a children's centre (a hub in a library, a community venue, ...).
CANDIDATE_KINDS = (
    "library",
    "community_centre",
    "early_years_site",
    "school",
    "faith_hall",
    "leisure_centre",
    "health_clinic",
    "childrens_centre",
    "send_hub",
)
#: Outreach visits a month in the planner's outreach view (seed 003: one practitioner, visits at
#: least monthly in the north and every two months elsewhere).
OUTREACH_VISITS_PER_MONTH = 6
#: Months planned by default, and at most, in the planner's outreach view.
OUTREACH_MONTHS, MAX_OUTREACH_MONTHS = 3, 12
#: Suffix of the id given to a venue re-opened after it closed in the venue file.
REOPENED_SUFFIX = "-reopened"
#: Largest uploaded scenario accepted (bytes); a scenario file is a few kilobytes.
MAX_UPLOAD_BYTES = 1_000_000
#: Largest state token (a compressed scenario in the page address) accepted back.
MAX_TOKEN_CHARS = 20_000
#: Longest scenario file name.
MAX_NAME_CHARS = 80
#: Walking bands the map shades child homes by (minutes); the last band is "further".
MAP_BANDS = (5.0, 10.0, 15.0, 20.0)
#: Quoted ids in engine messages (``'cc-north-cray'``), replaced by names in the planner.
_QUOTED_ID = re.compile(r"'([a-z0-9][a-z0-9_-]*)'")


def plain_reason(exc: Exception, names: Mapping[str, str]) -> str:
    """An engine error as a planner reads it: no file prefix, venues and sessions by name."""
    text = str(exc)
    if isinstance(exc, InputError) and ": " in text:
        text = text.split(": ", 1)[1] if text.startswith(("baseline", "field ", str(exc.path))) else text
    return _QUOTED_ID.sub(lambda match: names.get(match[1], match[0]), text)


def check_scenario_name(text: str) -> str:
    """A scenario's file name as typed (``North hub 2026.yaml``) → its name (``north-hub-2026``).

    Raises
    ------
    InputError
        The name has characters other than letters, digits, spaces and dashes, or is empty.
    """
    name = text.strip().removesuffix(".yaml").strip().lower().replace(" ", "-")
    if not re.match(NAME_PATTERN, name) or len(name) > MAX_NAME_CHARS:
        msg = f"a file name uses letters, digits and dashes (at most {MAX_NAME_CHARS}), such as north-hub-2026"
        raise InputError(msg, field="name")
    return name


class PlannerSession:
    """One planner's scenario, edited change by change and compared with the current programme.

    Parameters
    ----------
    workspace
        The study area and travel times shared by the server's sessions (``Workspace.shared``).
    scenario
        The scenario to start from (the current programme when omitted).

    Notes
    -----
    Each edit appends to (or removes from) the scenario's list of changes and re-applies it; an
    edit the scenario engine rejects (moving a session to a closed venue, closing the last
    centre) raises :class:`~geoplan.errors.InputError` and leaves the session as it was. Edits
    can be undone and redone; :attr:`unsaved` says whether there are edits not yet saved.
    """

    def __init__(self, workspace: Workspace, *, scenario: Scenario | None = None) -> None:
        self.workspace = workspace
        self.area = workspace.area
        self.baseline = baseline_scenario(workspace.area_path)
        self.kinds = kind_labels(self.area)
        self._scenario = self.baseline
        self._applied: AppliedScenario | None = None
        self._comparison: ScenarioComparison | None = None
        self._cache: dict[str, object] = {}
        self._history = EditHistory()
        self._saved = self.baseline
        self._commit(scenario or self.baseline)
        self._saved = self._scenario

    # ----------------------------------------------------------------------------------------
    # State

    @property
    def scenario(self) -> Scenario:
        """The scenario being edited."""
        return self._scenario

    @property
    def applied(self) -> AppliedScenario:
        """The scenario applied to the study area (configuration and travel times with opened venues)."""
        return self.comparison().after

    @property
    def band(self) -> float:
        """The walking band (minutes) the figures are given at."""
        return self._scenario.settings.headline_minutes

    @property
    def population(self) -> str:
        """Which children are counted (``children_0_4``, ``under_3`` or ``under_2``)."""
        return self._scenario.settings.population

    @property
    def profile(self) -> str:
        """The walking profile of the travel times (a name or a speed, as in scenario files)."""
        return str(self._scenario.settings.profile)

    @property
    def unsaved(self) -> bool:
        """Whether the scenario has edits that were not saved (or loaded) since."""
        return not same_scenario(self._scenario, self._saved)

    @property
    def can_undo(self) -> bool:
        """Whether there is an edit to undo."""
        return bool(self._history.replaced)

    @property
    def can_redo(self) -> bool:
        """Whether there is an undone edit to redo."""
        return bool(self._history.undone)

    def names(self) -> dict[str, str]:
        """Venue and session ids → names, for plain-language text."""
        return self.applied.names()

    def _commit(self, scenario: Scenario, *, source: str | None = None, record: bool = True) -> None:
        """Compare ``scenario`` with the current programme; keep it only if the engine accepts it.

        ``source`` names the file the scenario came from in error messages (with its line and
        field); without it the scenario is an edit and errors give only the plain reason.
        """
        scenario = scenario.on_area(self.workspace.area_path)
        if scenario.base_path() != self.workspace.area_path:
            msg = f"the scenario is for another study area ({scenario.base_path().stem}), not {self.area.name}"
            raise InputError(msg, path=source, field="base")
        try:
            comparison = compare(
                self.area, self.workspace.travel_times(scenario.settings.profile), self.baseline, scenario
            )
        except ScenarioError as exc:
            if source is None:
                names = self._applied.names() if self._applied is not None else {}
                raise InputError(plain_reason(exc, names)) from None
            raise InputError(str(exc).replace(str(scenario.path), source)) from None
        if record and self._applied is not None and not same_scenario(scenario, self._scenario):
            self._history.record(self._scenario)
        self._scenario, self._comparison, self._applied = scenario, comparison, comparison.after
        self._cache = {}

    def _cached(self, name: str, build: object) -> object:
        """A result of the current state, built once per state."""
        if name not in self._cache:
            self._cache[name] = build()
        return self._cache[name]

    def _add_change(self, change: Change) -> None:
        """Measure the scenario with one more change, after the others."""
        self._commit(edited_scenario(self._scenario, [*self._scenario.changes, change]))

    def _venue(self, venue_id: str) -> pd.Series:
        venues = self.applied.venues.set_index("venue_id", drop=False)
        if venue_id not in venues.index:
            msg = "no such venue in this scenario"
            raise InputError(msg, field="venue")
        return venues.loc[venue_id]

    # ----------------------------------------------------------------------------------------
    # Edits

    def undo(self) -> None:
        """Go back one edit."""
        self._history.undo(self._scenario, partial(self._commit, record=False))

    def redo(self) -> None:
        """Redo the last undone edit."""
        self._history.redo(self._scenario, partial(self._commit, record=False))

    def toggle_venue(self, venue_id: str, open: bool) -> None:
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
            if opening and not mentions_venue(changes, venue_id, besides=opening[0]):
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
                    msg = f"{venue['name']} is already re-opened"
                    raise InputError(msg, field="venue")
                if not venue["postcode"]:
                    msg = f"{venue['name']} has no postcode, so it cannot be re-opened on the map"
                    raise InputError(msg, field="venue")
                changes.append(
                    Change.model_validate(
                        {
                            "open": {
                                "id": reopened,
                                "name": f"{venue['name']} (re-opened)",
                                "kind": venue["kind"],
                                "address": venue["address"],
                                "postcode": venue["postcode"],
                            }
                        }
                    )
                )
        self._commit(edited_scenario(self._scenario, changes))

    def move_session(self, session_id: str, to_venue: str) -> None:
        """Run one session at another (open) venue."""
        sessions = self.applied.configuration.sessions.set_index("session_id")
        if session_id not in sessions.index:
            msg = "no such session in this scenario (it may have stopped when its venue closed)"
            raise InputError(msg, field="session")
        here = sessions.loc[session_id, "venue_id"]
        if here == to_venue:
            msg = f"{sessions.loc[session_id, 'title']} already runs at {self.names().get(to_venue, to_venue)}"
            raise InputError(msg, field="session")
        move = {"from": here, "to": to_venue, "sessions": [session_id]}
        self._add_change(Change.model_validate({"move_sessions": move}))

    def add_venue(self, target: str, *, name: str | None = None, kind: str = "childrens_centre") -> str:
        """Add a children's centre at a candidate venue (by id) or at a postcode; returns its venue id.

        An open venue of another kind (a library, a community centre) is redesignated as a centre;
        a closed one is re-opened; a postcode opens a new venue there (one outside the study area
        and its margin is refused).
        """
        target = target.strip()
        if not target:
            msg = f"type a postcode, such as {self.area.example_postcode}"
            raise InputError(msg, field="postcode")
        postcode = normalise_postcode(target)
        if POSTCODE_PATTERN.match(postcode):
            venue_id = "new-" + postcode.replace(" ", "").lower()
            label = self.kinds.get(kind, plain_label(kind))
            venue = {
                "id": venue_id,
                "name": name or f"New {label.lower()} ({postcode})",
                "kind": kind,
                "postcode": postcode,
            }
            try:
                change = Change.model_validate({"open": venue})
            except ValueError as exc:
                raise InputError(str(exc).splitlines()[-1], field="kind") from None
            try:
                self._add_change(change)
            except InputError as exc:
                raise InputError(str(exc), field="postcode") from None
            return venue_id
        if target not in set(self.applied.venues["venue_id"]):
            msg = f"{target!r} is not a postcode (such as {self.area.example_postcode})"
            raise InputError(msg, field="postcode")
        venue = self._venue(target)
        if not venue["open"]:
            self.toggle_venue(target, True)
            return target if bool(self._venue(target)["open"]) else f"{target}{REOPENED_SUFFIX}"
        if venue["kind"] == kind:
            msg = f"{venue['name']} is already a {self.kinds.get(kind, plain_label(kind)).lower()}"
            raise InputError(msg, field="venue")
        change = Change.model_validate({"redesignate": {"venue": target, "kind": kind}})
        self._add_change(change)
        return target

    def set_band(self, minutes: float) -> None:
        """Walking band (minutes) of the coverage, gain/loss and gap figures."""
        try:
            minutes = float(minutes)
        except (TypeError, ValueError):
            msg = f"walking band must be a number of minutes, got {minutes!r}"
            raise InputError(msg, field="band") from None
        if minutes != self.band:
            reason = f"walking band must be more than 0 and at most {MAX_BAND_MINUTES:g} minutes, got {minutes:g}"
            self._commit_settings(reason, field="band", headline_minutes=minutes)

    def set_profile(self, profile: str | float) -> None:
        """Walking pace: a profile name (``walk``, ``buggy``) or a speed in km/h."""
        if str(profile) != self.profile:
            reason = f"unknown walking pace {profile!r}; use walk, buggy or a speed in km/h"
            self._commit_settings(reason, field="profile", profile=profile)

    def _commit_settings(self, reason: str, *, field: str, **update: object) -> None:
        """Measure the scenario with new settings; settings the schema refuses raise InputError(``reason``)."""
        try:
            scenario = edited_scenario(self._scenario, **update)
        except ValueError as exc:
            raise InputError(reason, field=field) from exc
        self._commit(scenario)

    def load_scenario(self, name_or_path: str | os.PathLike[str]) -> None:
        """Start again from a shipped scenario (by name), a scenario file, or ``baseline``."""
        if str(name_or_path) == BASELINE:
            self._commit(self.baseline)
        else:
            scenario = resolve_scenario(name_or_path)
            self._commit(scenario, source=str(scenario.path))
        self._saved = self._scenario

    def load_scenario_yaml(self, text: str | bytes, *, filename: str = "uploaded.yaml") -> None:
        """Replace the scenario with an uploaded scenario file's text.

        A relative ``base`` path resolves as for a file in the shipped scenarios' folder (an
        upload has no folder); a catalogue name (``bexley``) works from anywhere, and a file
        without ``base`` is for this session's study area. A file that
        does not validate, or is for another study area, raises :class:`InputError` naming the
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
        located = SCENARIO_DIR / display
        try:
            scenario = parse_scenario(text, path=located)
            self._commit(scenario, source=display)
        except InputError as exc:
            raise InputError(str(exc).replace(str(located), display)) from None
        self._saved = self._scenario

    def rename(self, name: str) -> None:
        """Give the scenario a file name (see :func:`check_scenario_name`) and mark it saved."""
        name = check_scenario_name(name)
        if name != self._scenario.name:
            self._commit(self._scenario.model_copy(update={"name": name}).located(self._scenario.path))
        self._saved = self._scenario

    # ----------------------------------------------------------------------------------------
    # State in the page address (so a reload keeps the scenario)

    def state_token(self) -> str:
        """The scenario as a short URL-safe token (compressed YAML); empty for the current programme."""
        if same_scenario(self._scenario, self.baseline):
            return ""
        return scenario_token(self._scenario)

    def restore(self, token: str) -> None:
        """Start from a :meth:`state_token` (a reloaded page); a damaged token raises InputError."""
        if len(token) > MAX_TOKEN_CHARS:
            msg = "the scenario in the page address is too long"
            raise InputError(msg, field="address")
        try:
            text = token_yaml(token)
        except ValueError:
            msg = "the scenario in the page address is damaged"
            raise InputError(msg, field="address") from None
        self.load_scenario_yaml(text, filename="page address")
        self._saved = self.baseline

    # ----------------------------------------------------------------------------------------
    # Figures: all from the scenario engine's comparison

    def to_scenario_yaml(self) -> str:
        """The scenario as a scenario file (the same schema as the shipped ones)."""
        return scenario_yaml(self._scenario)

    def comparison(self) -> ScenarioComparison:
        """The scenario compared with the current programme (the ``scenario run`` engine)."""
        assert self._comparison is not None
        return self._comparison

    def centre_minutes(self) -> np.ndarray:
        """Minutes from each child origin to the nearest open, located centre."""
        return self.comparison().centre_minutes

    def change_lines(self) -> list[str]:
        """The scenario's changes in plain English (names, not ids)."""
        return describe_changes(self._scenario, names=self.names(), kinds=self.kinds)

    def metrics(self) -> dict[str, object]:
        """The headline figures of :meth:`comparison`, as the app shows them.

        Returns
        -------
        dict
            ``band``, ``profile``, ``method``, ``population`` (a label), ``children``,
            ``covered``, ``share``, ``baseline_covered``, ``baseline_share``, ``children_gaining``
            and ``children_losing`` (a walk to a centre), ``most_deprived_30``, ``by_imd_decile`` and
            ``by_idaci_decile`` (decile, lsoas, children, covered, share, baseline_share),
            ``session_venues`` and ``session_types`` (children gaining or losing a session type
            within the band), ``centres`` and ``changes`` (plain English). Every number is the
            comparison's, so it equals ``geoplan scenario run`` and the report.
        """
        return self._cached("metrics", self._metrics)

    def _metrics(self) -> dict[str, object]:
        comparison = self.comparison()
        summary = comparison.summary
        lsoas = self.area.lsoas

        def deciles(kind: str) -> list[dict[str, object]]:
            column = f"{kind}_decile"
            counts = lsoas.groupby(column).size()
            return [
                {
                    "decile": int(row[column]),
                    "lsoas": int(counts.get(row[column], 0)),
                    "children": row["children"],
                    "covered": row["covered_after"],
                    "share": row["share_after"],
                    "baseline_share": row["share_before"],
                }
                for row in getattr(comparison, f"by_{kind}_decile").to_dict("records")
            ]

        deprived = summary["most_deprived_30"]
        return json_safe(
            {
                "scenario": self._scenario.name,
                "title": self._scenario.title,
                "band": comparison.headline_minutes,
                "profile": comparison.profile,
                "method": comparison.method,
                "population": POPULATION_LABELS[comparison.population],
                "children": summary["children"],
                "covered": summary["covered_after"],
                "share": summary["share_after"],
                "baseline_covered": summary["covered_before"],
                "baseline_share": summary["share_before"],
                "children_gaining": summary["children_gaining"],
                "children_losing": summary["children_losing"],
                "most_deprived_30": {
                    "covered": deprived["covered_after"],
                    "total": deprived["children"],
                    "share": deprived["covered_after"] / deprived["children"] if deprived["children"] else float("nan"),
                    "children_losing": deprived["children_losing"],
                    "children_gaining": deprived["children_gaining"],
                },
                "by_imd_decile": deciles("imd"),
                "by_idaci_decile": deciles("idaci"),
                "session_venues": {
                    "covered": summary["session_venues"]["covered_after"],
                    "children_gaining": summary["session_venues"]["children_gaining"],
                    "children_losing": summary["session_venues"]["children_losing"],
                },
                "session_types": {
                    "children_gaining": summary["children_gaining_a_session_type"],
                    "children_losing": summary["children_losing_a_session_type"],
                },
                "centres": list(comparison.after.configuration.centre_ids),
                "changes": self.change_lines(),
            }
        )

    def who_changes(self) -> dict[str, pd.DataFrame]:
        """Who gains and who loses, in plain columns: by ward, by IMD and IDACI decile, by session type.

        The tables are the comparison's equality-impact tables (the report's), renamed for people.
        """
        return self._cached("who", self._who_changes)

    def _who_changes(self) -> dict[str, pd.DataFrame]:
        return impact_tables(self.comparison())

    def lsoa_shares(self) -> pd.Series:
        """Share of each LSOA's children within the band of a centre (LSOA code → 0..1; 0 with no children)."""
        by_lsoa = self.comparison().by_lsoa.set_index("lsoa_code")
        children = by_lsoa["children"].where(by_lsoa["children"] > 0)
        return (by_lsoa["covered_after"] / children).fillna(0.0)

    def home_bands(self) -> pd.DataFrame:
        """Child homes (postcode points) with the walking band to the nearest centre, for the map.

        ``band`` is the first of :data:`MAP_BANDS` (and the planner's band) the walk fits in,
        ``inf`` beyond them all. Postcode points are shown, never counts of children per postcode.
        """
        return self._cached("homes", self._home_bands)

    def _home_bands(self) -> pd.DataFrame:
        minutes = self.centre_minutes()
        bands = np.array(sorted({*MAP_BANDS, self.band}))
        index = np.searchsorted(bands, minutes, side="left")
        band = np.where(index < len(bands), bands[np.minimum(index, len(bands) - 1)], np.inf)
        geometry = self.area.children.geometry
        return pd.DataFrame({"x": geometry.x.to_numpy(), "y": geometry.y.to_numpy(), "band": band})

    def gaps(self, weights: GapWeights = GapWeights()) -> pd.DataFrame:
        """LSOAs whose children are beyond the band of a centre, ranked by need (:func:`geoplan.coverage.find_gaps`)."""
        return self._cached(f"gaps-{weights}", lambda: self._gaps(weights))

    def _gaps(self, weights: GapWeights) -> pd.DataFrame:
        applied = self.applied
        centres = applied.located_ids(applied.configuration.centre_ids)
        result = find_gaps(self.area, applied.travel_times, venue_ids=centres, minutes=self.band, weights=weights)
        return pd.DataFrame(result.lsoas.drop(columns="geometry"))

    def venues_table(self) -> pd.DataFrame:
        """Every venue of the scenario: open, centre, kind (and its label), status, sessions hosted, location."""
        return self._cached("venues", self._venues_table).copy()

    def _venues_table(self) -> pd.DataFrame:
        venues = self.applied.venues
        configuration = self.applied.configuration
        hosted = configuration.sessions.groupby("venue_id").size()
        baseline_open = self.comparison().before.venues.set_index("venue_id")["open"]
        return pd.DataFrame(
            {
                "venue_id": venues["venue_id"],
                "name": venues["name"],
                "kind": venues["kind"],
                "kind_label": venues["kind"].map(lambda kind: self.kinds.get(kind, plain_label(kind))),
                "status": venues["status"],
                "open": venues["open"].astype(bool),
                "open_now": venues["venue_id"].map(baseline_open).eq(True),
                "centre": venues["venue_id"].isin(configuration.centre_ids),
                "sessions": venues["venue_id"].map(hosted).fillna(0).astype(int),
                "located": venues["located"].astype(bool),
                "postcode": venues["postcode"].fillna(""),
                "x": [point.x if point is not None and not point.is_empty else np.nan for point in venues.geometry],
                "y": [point.y if point is not None and not point.is_empty else np.nan for point in venues.geometry],
            }
        ).reset_index(drop=True)

    def sessions_table(self) -> pd.DataFrame:
        """Sessions running in the scenario, with the venue each runs at and the one it ran at first."""
        return self._cached("sessions", self._sessions_table).copy()

    def _sessions_table(self) -> pd.DataFrame:
        sessions = self.applied.configuration.sessions
        names = self.applied.venues.set_index("venue_id")["name"]
        baseline = self.area.sessions.set_index("session_id")["venue_id"]
        return pd.DataFrame(
            {
                "session_id": sessions["session_id"],
                "title": sessions["title"],
                "session_type": sessions["session_type"].map(lambda kind: plain_label(kind).capitalize()),
                "ages": sessions["age_group"].map(plain_label),
                "day": sessions["day"].fillna(""),
                "venue_id": sessions["venue_id"],
                "venue": sessions["venue_id"].map(names),
                "baseline_venue_id": sessions["session_id"].map(baseline),
            }
        ).reset_index(drop=True)

    def candidate_venues(self) -> pd.DataFrame:
        """Located venues that could become a children's centre (not centres already)."""
        table = self.venues_table()
        return table[table["located"] & ~table["centre"] & table["kind"].isin(CANDIDATE_KINDS)].reset_index(drop=True)

    def outreach(
        self,
        *,
        visits_per_month: int = OUTREACH_VISITS_PER_MONTH,
        months: int = OUTREACH_MONTHS,
        start: date | str | None = None,
    ) -> object:
        """An outreach plan (:func:`geoplan.outreach.plan_outreach`) against this scenario.

        The scenario's open groups are visited and its centres decide which children are near a
        centre, at the scenario's walking time and pace; the plan says what it planned against.
        """
        from geoplan.outreach import plan_outreach

        applied = self.applied
        key = f"outreach-{visits_per_month}-{months}-{start}"
        return self._cached(
            key,
            lambda: plan_outreach(
                self.workspace,
                months=int(months),
                visits_per_month=int(visits_per_month),
                configuration=applied.configuration,
                venues=applied.venues,
                travel_times=applied.travel_times,
                programme_label=f"the scenario “{self._scenario.title}”",
                start=start,
                profile=self._scenario.settings.profile,
                group_minutes=self.band,
                centre_minutes=self.band,
            ),
        )

    def report_html(self) -> str:
        """The committee report (:mod:`geoplan.outputs.report`) of the scenario compared with the current programme.

        One self-contained page with the committee map and figure, as ``geoplan report`` writes it,
        made from this session's comparison (the same numbers as the app).
        """
        from geoplan.outputs.committee import committee_of
        from geoplan.outputs.report import render_report

        return render_report(committee_of(self.workspace, self.comparison())).page

    def shipped_scenarios(self) -> dict[str, str]:
        """Shipped scenarios of this study area: title → name."""
        found = {}
        for path in sorted(SCENARIO_DIR.glob("*.yaml")):
            scenario = load_scenario(path)
            if scenario.on_area(self.workspace.area_path).base_path() == self.workspace.area_path:
                found[scenario.title] = scenario.name
        return found
