"""The committee report: one self-contained page, on screen (HTML) or printed (PDF, :mod:`geoplan.outputs.pdf`).

Headline figures, coverage tables by national IMD and IDACI decile and by ward (before and after
when two configurations are compared), the equality-impact table, the gap areas numbered as on the
map, the interactive map (on screen) and the static figure, the methods and sources (publisher,
vintage and licence of each dataset, and how travel times were obtained) and the caveats.

Every string from data is escaped. Counts of children are Census 2021 statistics (public, not
suppressed); the report shows no service-registration counts.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geoplan.coverage import MOST_DEPRIVED_30_DECILES, CoverageResult
from geoplan.fileio import write_text
from geoplan.outputs.committee import Committee, CommitteeView, committee_figure, committee_map, headline_minutes
from geoplan.outputs.figure import png_bytes
from geoplan.outputs.leaflet import render_html
from geoplan.outputs.maps import top_gap_areas
from geoplan.outputs.style import DECILE_COLORS, DECILE_INDICES
from geoplan.studyarea import StudyArea
from geoplan.text import esc, plural

#: Height of the embedded interactive map on screen.
MAP_HEIGHT_PX = 680
#: How many sources of venue or session facts the sources table names (the rest are counted).
SOURCES_NAMED = 3

REPORT_CSS = """
body { font: 14px/1.45 Arial, Helvetica, sans-serif; color: #111; max-width: 1100px; margin: 0 auto; padding: 16px; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 19px; border-bottom: 2px solid #081d58; margin-top: 28px; }
h3 { font-size: 15px; margin-bottom: 4px; }
.meta { color: #444; font-size: 12px; }
.headline { font-size: 17px; background: #eef3fa; border-left: 5px solid #081d58; padding: 10px 14px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; }
.card { border: 1px solid #ccd; border-radius: 4px; padding: 8px 12px; min-width: 170px; max-width: 240px; }
.card .value { font-size: 22px; font-weight: bold; } .card .label { font-size: 12px; color: #333; }
table { border-collapse: collapse; margin: 6px 0 14px; font-size: 12.5px; }
thead { display: table-header-group; }
th, td { border: 1px solid #bbb; padding: 3px 7px; text-align: right; }
th { background: #f0f0f0; } td.name, th.name { text-align: left; }
td.empty { text-align: left; color: #555; font-style: italic; }
td.up { color: #1a7837; } td.down { color: #b2182b; font-weight: bold; }
.swatch { display: inline-block; width: 12px; height: 12px; border: 1px solid #777; vertical-align: middle; margin-right: 4px; }
iframe.map { width: 100%; height: MAP_HEIGHTpx; border: 1px solid #999; }
figure { margin: 10px 0; } figure img { width: 100%; height: auto; border: 1px solid #ccc; }
figcaption { font-size: 12px; color: #333; }
.note { font-size: 12px; color: #333; }
@page { size: A4; margin: 16mm 14mm 18mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5px; }
  .screen-only { display: none !important; }
  h1 { font-size: 20px; } h2 { font-size: 15px; break-after: avoid; margin-top: 18px; } h3 { break-after: avoid; }
  tr, figure, .card, .headline { break-inside: avoid; }
  table { font-size: 9px; } th, td { padding: 2px 4px; } a { color: inherit; text-decoration: none; }
  .cards { flex-wrap: nowrap; } .card { flex: 1 1 0; min-width: 0; max-width: none; } .card .value { font-size: 17px; }
  .map-section { break-inside: avoid; }
  table.sources { table-layout: fixed; width: 100%; } table.sources td { overflow-wrap: anywhere; }
}
""".replace("MAP_HEIGHT", str(MAP_HEIGHT_PX))


def _count(value: float) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:,.0f}"


def _share(value: float) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.1%}"


def _points(value: float) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value * 100:+.1f}"


def _table(
    rows: Sequence[Sequence[object]], header: Sequence[str], *, name_columns: int = 1, table_class: str = ""
) -> str:
    """A table of already-escaped cells; a cell may be (html, css class) or (html, css class, colspan)."""
    head = "".join(
        f'<th class="name">{cell}</th>' if i < name_columns else f"<th>{cell}</th>" for i, cell in enumerate(header)
    )
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            css, span = ("name" if i < name_columns else ""), 1
            if isinstance(cell, tuple):
                cell, css, *rest = cell
                span = rest[0] if rest else 1
            attributes = (f' class="{css}"' if css else "") + (f' colspan="{span}"' if span > 1 else "")
            cells.append(f"<td{attributes}>{cell}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    css = f' class="{table_class}"' if table_class else ""
    return f"<table{css}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _change_cell(before: float, after: float) -> tuple[str, str]:
    change = after - before
    css = "up" if change > 0 else "down" if change < 0 else ""
    return _points(change), css


def _coverage_table(
    before: pd.DataFrame,
    after: pd.DataFrame | None,
    group: tuple[str, str],
    label: Callable[[object], str],
    bands: Sequence[float],
    *,
    groups: Sequence[object] | None = None,
    empty: str = "",
) -> str:
    """Children and the share within each band per group; before, after and change when comparing.

    ``groups`` lists every group to show (all ten deciles): one with no children says ``empty``.
    """
    group, heading = group
    header = [esc(heading), "Children"]
    for band in bands:
        header += (
            [f"Within {band:g} min"]
            if after is None
            else [f"{band:g} min before", f"{band:g} min after", "Change (pts)"]
        )
    width = len(header) - 1
    present = dict(iter(before.groupby(group, sort=True)))
    rows = []
    for key in groups if groups is not None else list(present):
        if key not in present:
            rows.append([label(key), (esc(empty), "empty", width)])
            continue
        members = present[key].set_index("band")
        row: list[object] = [label(key), _count(members["total"].iloc[0])]
        for band in bands:
            share = members.loc[band, "share"]
            if after is None:
                row.append(f"{_share(share)} ({_count(members.loc[band, 'covered'])})")
                continue
            later = after[(after[group] == key) & (after["band"] == band)]["share"]
            later_share = float(later.iloc[0]) if len(later) else float("nan")
            row += [_share(share), _share(later_share), _change_cell(share, later_share)]
        rows.append(row)
    return _table(rows, header)


def _decile_label(decile: object) -> str:
    color = DECILE_COLORS[int(decile) - 1]
    return f'<span class="swatch" style="background:{color}"></span>{int(decile)}'


def _equality_table(coverage: CoverageResult, minutes: float) -> str:
    """Coverage of children in the most and less deprived areas against the whole study area, at ``minutes``."""
    frame = coverage.by_imd_decile[coverage.by_imd_decile["band"] == minutes]
    groups = [
        ("30% most deprived areas nationally (IMD deciles 1-3)", frame["imd_decile"].isin(MOST_DEPRIVED_30_DECILES)),
        ("IMD deciles 4-5", frame["imd_decile"].isin((4, 5))),
        ("50% least deprived (IMD deciles 6-10)", frame["imd_decile"] >= 6),
    ]
    overall = coverage.overall.loc[minutes]
    rows = []
    for name, mask in groups:
        covered, total = frame.loc[mask, "covered"].sum(), frame.loc[mask, "total"].sum()
        if not total:
            rows.append([esc(name), ("no children live in these areas here", "empty", 4)])
            continue
        share = covered / total
        rows.append([esc(name), _count(total), _count(covered), _share(share), _change_cell(overall["share"], share)])
    rows.append(["All children", _count(overall["total"]), _count(overall["covered"]), _share(overall["share"]), ""])
    table = _table(rows, ["Group", "Children", f"Within {minutes:g} min", "Share", "Vs the whole area (pts)"])
    ratio = coverage.equity_ratio.get(minutes)
    note = (
        f"Equity ratio at {minutes:g} min (share covered in IMD deciles 1-2 ÷ share in deciles 9-10): "
        + (
            "not defined (a group has no children, or none of the least deprived is within reach)"
            if ratio is None
            else f"{ratio:.2f}"
        )
        + "; above 1 means the most deprived areas are better served."
    )
    return table + f'<p class="note">{esc(note)}</p>'


def _file_year_mismatch(info: object) -> str | None:
    """A year the file's name carries that its dataset's title and vintage do not (an older edition)."""
    described = f"{info.title} {info.vintage}"
    for year in re.findall(r"(?<!\d)((?:19|20)\d\d)(?!\d)", info.file):
        if year not in described:
            return year
    return None


def _facts_sources(frame: pd.DataFrame) -> str:
    """The sources a facts file cites, most used first, each with how many rows it supports."""
    cited = frame["source"].fillna("").astype(str).str.strip()
    counts = cited[(cited != "") & ~cited.str.startswith("none found")].value_counts()
    named = [f"{source} ({count})" for source, count in counts.head(SOURCES_NAMED).items()]
    rest = int(counts.iloc[SOURCES_NAMED:].sum())
    if rest:
        named.append(f"{plural(len(counts) - SOURCES_NAMED, 'other source')} ({rest})")
    return "; ".join(named)


def _sources_table(area: StudyArea) -> str:
    rows = []
    for info in area.provenance.values():
        title, vintage = info.title, info.vintage
        year = _file_year_mismatch(info)
        if year is not None:
            title = (
                f"{area.catalogue.layers[info.key].title if info.key in area.catalogue.layers else title} ({year} file)"
            )
            vintage = f"{year} edition (the file used); the publisher's current edition: {info.vintage}"
        rows.append([esc(title), esc(info.publisher), esc(vintage), esc(info.licence), esc(info.file)])
    catalogue = area.catalogue
    for spec, frame, unit in ((catalogue.venues, area.venues, "venue"), (catalogue.sessions, area.sessions, "session")):
        rows.append(
            [
                esc(spec.title),
                esc(f"Compiled for geoplan from public sources, each cited per {unit}: {_facts_sources(frame)}"),
                esc(f"{plural(len(frame), unit)}; each row dated by its source"),
                "Facts from public documents, cited per row",
                esc(spec.file.name),
            ]
        )
    return _table(
        rows, ["Dataset", "Publisher and sources", "Vintage", "Licence", "File"], name_columns=5, table_class="sources"
    )


CAVEATS = (
    "Venue locations are the centroid of their postcode (OS Code-Point Open), not the building entrance.",
    "Children aged 0-4 are Census 2021 counts (a 2021 vintage: births since then are not reflected), "
    "shared equally among the postcodes of each LSOA, so postcode-level figures are estimates.",
    "Under-3 and under-2 figures, where shown, assume ages are spread evenly within the 0-4 band (3/5 and 2/5).",
    "Deprivation deciles are national (England) deciles of the English Indices of Deprivation 2025 on 2021 LSOAs.",
    "A venue counts as reachable if it is within the walking band; opening hours, capacity and "
    "the content of sessions are not part of the coverage figures.",
)


def _cards(area: StudyArea, view: CommitteeView, before: CommitteeView | None, minutes: float) -> str:
    coverage = view.coverage
    deprived, overall = coverage.most_deprived_30.loc[minutes], coverage.overall.loc[minutes]
    cards = [
        (_count(overall["total"]), "children aged 0-4 (Census 2021)"),
        (_count(deprived["total"]), "of them in the 30% most deprived areas nationally"),
        (_share(overall["share"]), f"within {minutes:g} min of {view.one_of_centres}"),
        (_share(deprived["share"]), f"in the 30% most deprived, within {minutes:g} min of the same centres"),
    ]
    if before is not None:
        change = deprived["share"] - before.coverage.most_deprived_30.loc[minutes, "share"]
        cards.append((_points(change), "change for the 30% most deprived (percentage points)"))
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="value">{value}</div><div class="label">{esc(label)}</div></div>'
            for value, label in cards
        )
        + "</div>"
    )


def _gaps_section(area: StudyArea, view: CommitteeView) -> list[str]:
    gaps = view.gaps
    top = top_gap_areas(gaps, area)
    if top.empty:
        return [f"<h2>Gaps</h2><p>Every child lives within {gaps.minutes:g} minutes of {esc(view.one_of_centres)}.</p>"]
    parts = [f"<h2>The {plural(len(top), 'gap area')} with most need (beyond {gaps.minutes:g} minutes)</h2>"]
    parts.append(
        f'<p class="note">Numbered as on the map. A gap area is a group of postcodes no more than '
        f"1 km across whose children live beyond a {gaps.minutes:g}-minute walk; ranked by need "
        "(children beyond the band × deprivation weight × minutes beyond).</p>"
    )
    rows = [
        [
            esc(int(row.rank)),
            esc(row.ward_name),
            _count(row.children_beyond),
            esc(row.nearest_name),
            f"{row.nearest_minutes:.0f}" if np.isfinite(row.nearest_minutes) else "out of reach",
        ]
        for row in top.itertuples()
    ]
    parts.append(_table(rows, ["Gap", "Ward", "Children aged 0-4", "Nearest centre", "Minutes"], name_columns=2))
    lsoas = gaps.lsoas.head(len(top))
    parts.append(f"<h3>The {plural(len(lsoas), 'LSOA')} with most need</h3>")
    rows = [
        [
            esc(int(row.rank)),
            esc(row.lsoa_name),
            esc(row.ward_name),
            esc(row.imd_decile),
            esc(row.idaci_decile),
            _count(row.children_beyond),
            esc(row.nearest_name),
            f"{row.nearest_minutes:.0f}" if np.isfinite(row.nearest_minutes) else "out of reach",
        ]
        for row in lsoas.itertuples()
    ]
    parts.append(
        _table(
            rows,
            ["Rank", "LSOA", "Ward", "IMD decile", "IDACI decile", "Children beyond", "Nearest centre", "Minutes"],
            name_columns=3,
        )
    )
    return parts


def build_report(
    committee: Committee,
    *,
    map_html: str | None = None,
    figure_png: bytes | None = None,
    title: str | None = None,
    generated: dt.datetime | None = None,
) -> str:
    """The committee report of one view, or of the comparison of two, as one self-contained HTML page.

    Parameters
    ----------
    committee
        The measured views (and their comparison, whose equality-impact section is embedded).
    map_html, figure_png
        The interactive map page (embedded in an iframe, on screen only) and the static figure
        (embedded as a data URI; the printed paper's map).
    title
        Report title (escaped).
    generated
        Time stamp printed on the report (now when omitted).

    Returns
    -------
    str
    """
    area = committee.area
    before, view = committee.views[0], committee.views[-1]
    comparing = len(committee.views) == 2
    coverage = view.coverage
    travel = view.travel
    generated = generated or dt.datetime.now(dt.UTC)
    minutes = view.headline_minutes or headline_minutes(coverage)
    label = f"{view.title} (compared with: {before.title})" if comparing else view.title
    heading = title or f"{area.name}: reach of early-years services"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(heading)}</title><style>{REPORT_CSS}</style></head><body>",
        f"<h1>{esc(heading)}</h1>",
        f'<p class="meta">{esc(area.name)} · {esc(label)} · walking times: {esc(travel.method)}, '
        f"{esc(travel.profile)} pace · produced {esc(generated.strftime('%d %B %Y'))} with geoplan</p>",
        f'<p class="headline">{esc(view.headline(minutes))}</p>',
        _cards(area, view, before if comparing else None, minutes),
        '<section class="map-section"><h2>Map</h2>',
    ]
    if map_html is not None:
        parts.append(
            f'<iframe class="map screen-only" title="Interactive map" srcdoc="{esc(map_html)}"></iframe>'
            '<p class="note screen-only">The interactive map works offline; use the layer list to switch '
            "layers and click a venue for its details and sessions.</p>"
        )
    if figure_png is not None:
        data = base64.b64encode(figure_png).decode("ascii")
        parts.append(
            f'<figure><img alt="Map of {esc(area.name)}: areas by deprivation decile, venues and gaps" '
            f'src="data:image/png;base64,{data}"><figcaption>Figure 1. Areas (LSOAs) shaded by national '
            "IMD 2025 decile (1 = most deprived 10%), walking bands around the centres, gap areas "
            "numbered by need, and venues by kind. Data sources are credited under the map and listed "
            "in Methods and sources.</figcaption></figure>"
        )
    parts.append("</section>")

    after_table = (lambda name: getattr(view.coverage, name)) if comparing else (lambda name: None)
    deciles = list(range(1, len(DECILE_COLORS) + 1))
    empty = f"no LSOAs of {area.name} in this decile"
    parts.append("<h2>Coverage by national deprivation decile</h2>")
    parts.append(
        f'<p class="note">Share of children aged 0-4 living within each walking band of '
        f"{esc(view.one_of_centres)}{' before and after' if comparing else ''}; decile 1 is the most deprived "
        "10% of LSOAs in England.</p>"
    )
    for index, (column, index_label) in DECILE_INDICES.items():
        name = f"by_{index}_decile"
        parts.append(f"<h3>By {esc(index_label.replace(' national decile', ''))} decile</h3>")
        parts.append(
            _coverage_table(
                getattr(before.coverage, name),
                after_table(name),
                (column, f"{index.upper()} decile"),
                _decile_label,
                coverage.bands,
                groups=deciles,
                empty=empty,
            )
        )
    parts.append("<h2>Coverage by ward</h2>")
    wards = before.coverage.by_ward.drop(columns="ward_code")
    after = view.coverage.by_ward.drop(columns="ward_code") if comparing else None
    parts.append(_coverage_table(wards, after, ("ward_name", "Ward"), esc, coverage.bands))

    parts.append("<h2>Equality impact</h2>")
    parts.append(_equality_table(coverage, minutes))
    if committee.comparison is not None:
        parts.append(committee.comparison.report_html())
    parts.extend(_gaps_section(area, view))

    parts.append("<h2>Methods and sources</h2>")
    parts.append(
        f"<p>{esc(travel.describe())} A child counts as covered at a band when the nearest of "
        f"{esc(view.centres)} is within it.</p>"
    )
    parts.append(_sources_table(area))
    parts.append("<h2>Caveats</h2><ul>")
    caveats = list(CAVEATS)
    if travel.method != "network":
        caveats.insert(0, "Travel times are crow-fly estimates, not walking-network times (see Methods).")
    beyond = list(area.venues.loc[area.venues["beyond_network_extent"], "name"])
    if travel.method == "network" and beyond:
        edge = (
            f"The street map is complete only in a box around the area; {plural(len(beyond), 'venue')} lie beyond "
            f"it ({', '.join(beyond)}), so walks to them may be longer than they really are."
        )
        caveats.insert(0, edge)
    parts.extend(f"<li>{esc(caveat)}</li>" for caveat in caveats)
    parts.append("</ul></body></html>")
    return "\n".join(parts) + "\n"


def write_report(page: str, out: str | os.PathLike[str]) -> int:
    """Write the report atomically; returns its size in bytes."""
    write_text(out, page)
    return len(page.encode("utf-8"))


@dataclass
class RenderedReport:
    """A report page with the map page and figure embedded in it (each can be written on its own too)."""

    page: str
    map_html: str | None
    figure_png: bytes


def render_report(
    committee: Committee, *, decile: str = "imd", analyst: bool = False, interactive: bool = True
) -> RenderedReport:
    """The committee report with its map and figure; ``interactive=False`` leaves the map out (the printed paper)."""
    map_html = render_html(committee_map(committee, decile=decile, analyst=analyst)) if interactive else None
    figure_png = png_bytes(committee_figure(committee, decile=decile))
    return RenderedReport(build_report(committee, map_html=map_html, figure_png=figure_png), map_html, figure_png)
