"""Editing a scenario change by change, as the planner does, and undoing and redoing the edits.

An edited scenario is a copy with other changes or settings, named as edited (``<name>-edited``)
so it is never mistaken for the file it came from; :class:`EditHistory` keeps the scenarios an
edit replaced (to undo) and the ones undone (to redo).
"""

from __future__ import annotations

from collections.abc import Callable

from geoplan.errors import InputError
from geoplan.scenarios.schema import Change, Scenario, ScenarioSettings

#: Suffix added to a scenario's name once the planner has changed it.
EDITED_SUFFIX = "-edited"
#: Edits kept for undo.
MAX_UNDO = 100


def same_scenario(first: Scenario, second: Scenario) -> bool:
    """Whether two scenarios say the same (name, title, settings and changes)."""
    return first.model_dump(mode="json") == second.model_dump(mode="json")


def edited_scenario(scenario: Scenario, changes: list[Change] | None = None, **settings_update: object) -> Scenario:
    """A copy of ``scenario`` with new changes and/or settings, marked as edited.

    A new ``headline_minutes`` joins the bands, so the figures at it are always measured.

    Raises
    ------
    ValueError
        A setting the schema refuses (a band out of range, an unknown walking pace).
    """
    name, title = scenario.name, scenario.title
    if not name.endswith(EDITED_SUFFIX):
        name, title = f"{name}{EDITED_SUFFIX}", f"{title} (edited in the planner)"
    options = scenario.settings.model_dump()
    if "headline_minutes" in settings_update:
        options["bands"] = tuple(sorted({*options["bands"], settings_update["headline_minutes"]}))
    options.update(settings_update)
    return Scenario(
        version=scenario.version,
        name=name,
        title=title,
        description=scenario.description,
        base=scenario.base,
        settings=ScenarioSettings.model_validate(options),
        changes=list(scenario.changes) if changes is None else changes,
    ).located(scenario.path)


def mentions_venue(changes: list[Change], venue_id: str, *, besides: Change) -> bool:
    """Whether a change other than ``besides`` closes or redesignates ``venue_id``, or moves sessions to or from it."""
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


class EditHistory:
    """The scenarios edits replaced (to undo) and those undone (to redo), at most ``limit`` edits back.

    Attributes
    ----------
    replaced
        Scenarios an edit replaced, the last one first undone.
    undone
        Scenarios undone, the last one first redone.
    """

    def __init__(self, *, limit: int = MAX_UNDO) -> None:
        self.limit = limit
        self.replaced: list[Scenario] = []
        self.undone: list[Scenario] = []

    def record(self, replaced: Scenario) -> None:
        """An edit replaced ``replaced``: it can be undone, and nothing undone before can be redone."""
        self.replaced = [*self.replaced, replaced][-self.limit :]
        self.undone = []

    def undo(self, current: Scenario, commit: Callable[[Scenario], None]) -> None:
        """``commit`` the scenario the last edit replaced; ``current`` can then be redone."""
        self._step(self.replaced, self.undone, current, commit, action="undo")

    def redo(self, current: Scenario, commit: Callable[[Scenario], None]) -> None:
        """``commit`` the last scenario undone; ``current`` can then be undone again."""
        self._step(self.undone, self.replaced, current, commit, action="redo")

    @staticmethod
    def _step(
        source: list[Scenario],
        target: list[Scenario],
        current: Scenario,
        commit: Callable[[Scenario], None],
        *,
        action: str,
    ) -> None:
        if not source:
            msg = f"nothing to {action}"
            raise InputError(msg, field=action)
        # The history moves only once the engine has accepted the scenario.
        commit(source[-1])
        source.pop()
        target.append(current)
