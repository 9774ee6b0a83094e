"""The committee-report section of a scenario comparison (one ``<section>`` of HTML)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from geoplan.coverage import E2SFCA_STEPS, POPULATION_LABELS
from geoplan.scenarios.apply import describe_changes, plain_label
from geoplan.scenarios.compare import E2SFCA_PER_CHILDREN, ScenarioComparison
from geoplan.text import esc


def count(value: float) -> str:
    """A count of children: ``1,204``."""
    return f"{value:,.0f}"


def share(value: float | None) -> str:
    """A share as a percentage, ``–`` when there is none (a group with no children)."""
    return "–" if value is None or not np.isfinite(value) else f"{value:.1%}"


def signed(value: float | None, digits: int = 0) -> str:
    """A change with its sign: ``+12``, ``-3.5``."""
    return "–" if value is None or not np.isfinite(value) else f"{value:+,.{digits}f}"


class Column(NamedTuple):
    """A column of an HTML table: the frame's column, its heading, and how a value is written (a count by default)."""

    key: str
    heading: str
    fmt: Callable[[Any], str] = count


def html_table(frame: pd.DataFrame, columns: Sequence[Column]) -> str:
    """A table of ``frame``'s rows, one cell a column."""
    head = "".join(f"<th>{esc(column.heading)}</th>" for column in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(column.fmt(row[column.key]))}</td>" for column in columns) + "</tr>"
        for row in frame.to_dict("records")
    )
    return f'<table class="geoplan-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


IMPACT_HTML: tuple[Column, ...] = (
    Column("children", "Children"),
    Column("covered_before", "Covered before"),
    Column("covered_after", "Covered after"),
    Column("change", "Change", signed),
    Column("share_before", "Share before", share),
    Column("share_after", "Share after", share),
    Column("share_change_pts", "Change (points)", lambda value: signed(value, 1)),
    Column("children_losing", "Losing"),
    Column("children_gaining", "Gaining"),
    Column("e2sfca_change", "E2SFCA change", lambda value: signed(value, 2)),
)
SESSION_TYPE_HTML: tuple[Column, ...] = (
    Column("session_type", "Session type", lambda value: plain_label(str(value)).capitalize()),
    Column("venues_before", "Venues before", str),
    Column("venues_after", "Venues after", str),
    Column("covered_before", "Children before"),
    Column("covered_after", "Children after"),
    Column("children_losing", "Losing"),
    Column("children_gaining", "Gaining"),
)


def changed_session_types(comparison: ScenarioComparison) -> pd.DataFrame:
    """Session types whose reach changes (some children lose or gain one within the band)."""
    table = comparison.session_types
    return table[(table["children_losing"] > 0) | (table["children_gaining"] > 0)]


def report_html(comparison: ScenarioComparison) -> str:
    """An HTML fragment (one ``<section>``) of the comparison, as the committee report embeds it."""
    summary = comparison.summary
    before, after = comparison.before.scenario, comparison.after.scenario
    minutes = f"{comparison.headline_minutes:g}"
    parts = [
        f'<section class="geoplan-scenario" id="scenario-{esc(comparison.stem)}">',
        f"<h2>{esc(after.title)}</h2>",
        f"<p>Compared with: {esc(before.title)}.</p>",
    ]
    if after.description:
        parts.append(f"<p>{esc(after.description.strip())}</p>")
    changes = describe_changes(after, names=comparison.after.names())
    if changes:
        parts.append("<ul>" + "".join(f"<li>{esc(line)}</li>" for line in changes) + "</ul>")
    deprived = summary["most_deprived_30"]
    parts.append(
        "<p>"
        + esc(
            f"Children's centres: {summary['centres_before']} before, {summary['centres_after']} after. "
            f"Children {POPULATION_LABELS[comparison.population]} within a {minutes}-minute walk "
            f"({comparison.profile} pace) of a centre: {count(summary['covered_before'])} "
            f"({share(summary['share_before'])}) before, {count(summary['covered_after'])} "
            f"({share(summary['share_after'])}) after; {count(summary['children_losing'])} lose and "
            f"{count(summary['children_gaining'])} gain that walk. In the 30% most deprived areas nationally "
            f"(IMD deciles 1-3), {count(deprived['children_losing'])} of {count(deprived['children'])} "
            f"children lose it and {count(deprived['children_gaining'])} gain it."
        )
        + "</p>"
    )
    parts.append(
        "<p>"
        + esc(
            f"Sessions within reach (E2SFCA, sessions per week per {E2SFCA_PER_CHILDREN:,} children) in the 30% "
            f"most deprived areas: {summary['accessibility']['most_deprived_30']['before']:.2f} before, "
            f"{summary['accessibility']['most_deprived_30']['after']:.2f} after "
            f"({signed(summary['accessibility']['most_deprived_30']['change'], 2)}); for the fifth of children "
            f"with least: {summary['accessibility']['lowest_fifth']['before']:.2f} before, "
            f"{summary['accessibility']['lowest_fifth']['after']:.2f} after. Children with no session venue "
            f"within {E2SFCA_STEPS[-1][0]:g} minutes: {count(summary['accessibility']['without_access']['before'])} before, "
            f"{count(summary['accessibility']['without_access']['after'])} after. Children within {minutes} minutes of any venue "
            f"hosting sessions: {count(summary['session_venues']['covered_before'])} before, "
            f"{count(summary['session_venues']['covered_after'])} after."
        )
        + "</p>"
    )
    parts.append(f"<h3>Equality impact by IMD decile (1 = most deprived), {esc(minutes)}-minute walk</h3>")
    parts.append(html_table(comparison.by_imd_decile, [Column("imd_decile", "IMD decile", str), *IMPACT_HTML]))
    parts.append(f"<h3>Equality impact by IDACI decile, {esc(minutes)}-minute walk</h3>")
    parts.append(html_table(comparison.by_idaci_decile, [Column("idaci_decile", "IDACI decile", str), *IMPACT_HTML]))
    parts.append(f"<h3>Equality impact by ward, {esc(minutes)}-minute walk</h3>")
    parts.append(html_table(comparison.by_ward, [Column("ward_name", "Ward", str), *IMPACT_HTML]))
    moved = changed_session_types(comparison)
    if not moved.empty:
        parts.append(f"<h3>Reach of session types that change ({esc(minutes)}-minute walk)</h3>")
        parts.append(html_table(moved, SESSION_TYPE_HTML))
    uncounted_before = comparison.before.uncounted()
    uncounted = uncounted_before + [row for row in comparison.after.uncounted() if row not in uncounted_before]
    if uncounted:
        parts.append(
            "<p><strong>Not counted:</strong> "
            + esc("; ".join(f"{row['note']} ({row['role']})" for row in uncounted))
            + ".</p>"
        )
    parts.append(
        '<p class="geoplan-method">'
        + esc(
            f"Method: walking times are {comparison.method} estimates at {comparison.profile} pace; children "
            "are Census 2021 counts shared among postcodes and reported by LSOA, ward and national decile; "
            "deprivation is the English Indices of Deprivation 2025."
        )
        + "</p>"
    )
    parts.append("</section>")
    return "\n".join(parts) + "\n"
