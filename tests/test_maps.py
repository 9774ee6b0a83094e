"""Committee maps: one offline HTML file (checked in headless Chromium with the network blocked) and a PNG."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from browser import open_page

from geoplan import settings
from geoplan.cli import main
from geoplan.errors import InputError
from geoplan.outputs.committee import committee_figure, committee_map, load_committee
from geoplan.outputs.figure import build_figure, write_png
from geoplan.outputs.leaflet import leaflet_assets, map_summary, render_html, write_map
from geoplan.outputs.maps import build_map, top_gap_areas
from geoplan.outputs.style import CODE_LABELS, DECILE_COLORS, SYMBOL_MARKERS, load_code_labels, words
from geoplan.venues import STATUSES_2021
from geoplan.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
VENUES_CSV = REPO / "layers" / "bexley" / "venues.csv"
SCENARIOS = REPO / "scenarios"
#: The acceptance limit on the map file.
MAX_MAP_BYTES = 5_000_000
XSS_NAME = "<script>alert(1)</script>"
XSS_SESSION = '<img src="x" onerror="alert(2)">'


@pytest.fixture(scope="module")
def committee(mirror: Path) -> object:
    return load_committee(Workspace(REPO / "layers" / "bexley.yaml", data_dir=mirror), [None])


@pytest.fixture(scope="module")
def venue_facts() -> pd.DataFrame:
    """The venue facts file read independently of geoplan."""
    return pd.read_csv(VENUES_CSV, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def map_file(committee: object, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("map") / "bexley-map.html"
    write_map(committee_map(committee, children=True), out)
    return out


def test_map_is_one_small_file_with_no_external_assets(map_file: Path) -> None:
    page = map_file.read_text(encoding="utf-8")
    assert map_file.stat().st_size < MAX_MAP_BYTES
    assert re.findall(r"<(?:script|link)\b[^>]*\b(?:src|href)=", page) == []
    assert 'version="1.9.4"' in page  # Leaflet itself is inlined
    assert "cdn." not in page and "cdnjs" not in page
    assert "url(images/" not in leaflet_assets()  # control icons are data URIs, not files beside the page


def test_map_layers_hold_every_lsoa_ward_and_located_venue(committee: object, venue_facts: pd.DataFrame) -> None:
    fmap = committee_map(committee)
    layers = map_summary(fmap)["maps"][0]
    located = int((venue_facts["postcode"].str.strip() != "").sum())
    assert layers["Shading: IMD 2025 national decile"] == 148
    assert layers["Shading: IDACI 2025 national decile"] == 148
    assert layers["Wards"] == 17
    assert layers["Ward names"] == 17
    assert layers["Walking bands"] == 3  # 10, 15 and 20 minutes around the centres taken together
    assert layers["Venues"] == located == 48
    shown = min(settings.top_gaps, len(committee.views[0].gaps.clusters))
    assert layers[f"Gap areas 1-{shown}: most need, beyond 15 min"] == shown == 10
    assert layers["Gap numbers"] == shown


@pytest.mark.browser
def test_map_opens_offline_with_markers_polygons_and_working_toggles(
    committee: object, map_file: Path, venue_facts: pd.DataFrame
) -> None:
    area = committee.area
    located = venue_facts[venue_facts["postcode"].str.strip() != ""]
    closed = int((located["status_2021"] == "closed_before_2021").sum())
    imd_fills = {DECILE_COLORS[d - 1] for d in area.lsoas["imd_decile"]}
    idaci_fills = {DECILE_COLORS[d - 1] for d in area.lsoas["idaci_decile"]}
    with open_page(map_file) as page:
        assert page.failed == []
        assert page.errors == []
        assert page.locator(".geoplan-venue").count() == len(located) == 48
        assert page.locator(".geoplan-venue-greyed").count() == closed
        assert page.locator("path.geoplan-lsoa").count() == len(area.lsoas) == 148
        assert page.locator("path.geoplan-ward").count() == 17
        assert page.locator("path.geoplan-band").count() == 3
        assert page.locator("path.geoplan-children").count() == 0  # off until switched on
        fills = set(page.eval_on_selector_all("path.geoplan-lsoa", "els => els.map(e => e.getAttribute('fill'))"))
        assert fills == imd_fills

        control = page.locator(".leaflet-control-layers")
        control.hover()  # the layer list is folded until pointed at
        control.get_by_text("Venues", exact=True).click()
        assert page.locator(".geoplan-venue").count() == 0
        control.get_by_text("Venues", exact=True).click()
        assert page.locator(".geoplan-venue").count() == 48
        control.get_by_text("Children aged 0-4 by postcode (estimate)").click()
        assert page.locator("path.geoplan-children").count() == int((area.children["children_0_4"] > 0).sum())
        control.get_by_text("Shading: IDACI 2025 national decile").click()
        assert page.locator("path.geoplan-lsoa").count() == 148
        fills = set(page.eval_on_selector_all("path.geoplan-lsoa", "els => els.map(e => e.getAttribute('fill'))"))
        assert fills == idaci_fills

        west_street = area.sessions[area.sessions["venue_id"] == "cc-west-street"]
        page.locator('.geoplan-venue[title="West Street Children\'s Centre"]').dispatch_event("click")
        popup = page.locator(".leaflet-popup-content").inner_text()
        assert "174 Chandlers Drive, Erith, Kent, DA8 1LW" in popup
        assert f"Sessions ({len(west_street)})" in popup
        for title in west_street["title"]:
            assert title in popup
        assert page.failed == [] and page.errors == []


def test_every_venue_symbol_has_a_white_halo_under_its_outline(committee: object) -> None:
    features = committee_map(committee)
    venues = next(child for child in features._children.values() if getattr(child, "layer_name", "") == "Venues")
    icons = [feature["properties"]["icon"] for feature in venues.data["features"]]
    assert len(icons) == 48
    # Light (health clinic) and blue (library) symbols stay visible on the darkest blue deciles.
    assert all(icon.index('stroke="#ffffff"') < icon.index('stroke="#222222"') for icon in icons)


@pytest.mark.browser
def test_data_text_is_escaped_in_the_map(committee: object, tmp_path: Path) -> None:
    area = committee.area
    view = committee.views[0]
    venues = view.venues.copy()
    venues.loc[venues["venue_id"] == "cc-west-street", "name"] = XSS_NAME
    configuration = view.configuration
    sessions = configuration.sessions.copy()
    sessions.loc[sessions["venue_id"] == "cc-west-street", "title"] = XSS_SESSION
    configuration = type(configuration)(
        configuration.open_venue_ids, configuration.centre_ids, configuration.kinds, sessions
    )
    out = tmp_path / "xss.html"
    write_map(build_map(area, configuration=configuration, venues=venues, title=XSS_NAME), out)
    page_text = out.read_text(encoding="utf-8")
    assert XSS_NAME not in page_text and "<img src" not in page_text
    with open_page(out) as page:
        page.locator(".geoplan-venue-open").first.wait_for()
        page.locator(f'.geoplan-venue[title="{XSS_NAME}"]').dispatch_event("click")
        popup = page.locator(".leaflet-popup-content")
        assert XSS_NAME in popup.inner_text()
        assert XSS_SESSION in popup.inner_text()
        assert popup.locator("script, img").count() == 0
        assert XSS_NAME in page.locator(".geoplan-title").inner_text()
        assert page.title() == XSS_NAME
        page.wait_for_timeout(200)
        assert page.log.dialogs == []
        assert page.failed == [] and page.errors == []


@pytest.fixture(scope="module")
def compared(mirror: Path) -> object:
    workspace = Workspace(REPO / "layers" / "bexley.yaml", data_dir=mirror)
    return load_committee(workspace, [SCENARIOS / "bexley-2021-before.yaml", SCENARIOS / "bexley-2021-adopted.yaml"])


@pytest.mark.browser
def test_compared_scenarios_render_side_by_side_with_full_titles_and_who_gains(
    compared: object, tmp_path: Path
) -> None:
    out = tmp_path / "compare.html"
    write_map(committee_map(compared), out)
    summary = compared.comparison.summary
    with open_page(out, width=1024, height=768) as page:
        assert page.failed == [] and page.errors == []
        assert page.locator(".folium-map").count() == 2
        assert page.locator("path.geoplan-lsoa").count() == 2 * 148
        # Full titles above the maps, none cut short: the scenario files' own titles.
        sides = page.locator(".geoplan-header .side")
        titles = [view.title for view in compared.views]
        for index, title in enumerate(titles):
            assert title in sides.nth(index).inner_text()
            assert page.evaluate("e => e.scrollWidth <= e.clientWidth", sides.nth(index).element_handle())
        assert page.locator(".geoplan-title").first.inner_text().endswith(f"compared with {titles[0]}")
        # The before/after summary is the scenarios engine's: losers and gainers overall and by ward.
        changes = page.locator(".geoplan-changes")
        sentence = changes.locator("summary").inner_text()
        assert f"{summary['children_losing']:,.0f} lose that walk" in sentence
        assert f"{summary['covered_before']:,.0f} children before" in sentence
        changes.locator("summary").click()
        losing = compared.comparison.by_ward.query("children_losing > 0")
        ward_rows = changes.locator("table").first.locator("tbody tr")
        assert ward_rows.count() == len(losing) > 0
        for row in losing.itertuples():
            assert (
                f"{row.children_losing:,.0f}"
                in changes.get_by_text(row.ward_name, exact=True).locator("xpath=..").inner_text()
            )
        zooms = page.evaluate(
            """() => {
                const maps = Object.keys(window).filter(k => k.startsWith('map_')).map(k => window[k]);
                maps[0].setZoom(maps[0].getZoom() + 1, {animate: false});
                maps[0].panBy([120, 60], {animate: false});
                return maps.map(m => [m.getZoom(), m.getCenter().lat, m.getCenter().lng]);
            }"""
        )
        assert zooms[0][0] == zooms[1][0]
        assert zooms[0][1] == pytest.approx(zooms[1][1], abs=1e-9)
        assert zooms[0][2] == pytest.approx(zooms[1][2], abs=1e-9)
    # The 1 September 2021 Cabinet report: 9 centre buildings before, 5 in the adopted model.
    centres = [view.configuration.centre_ids for view in compared.views]
    assert (len(centres[0]), len(centres[1])) == (9, 5)


def _overlap(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and (b["y"] < a["y"] + a["height"])
    )


_CLOSE_POPUPS = "() => Object.keys(window).filter(k => k.startsWith('map_')).forEach(k => window[k].closePopup())"
_TOP_PATH_AT = """([x, y]) => { const e = document.elementFromPoint(x, y); return e ? e.getAttribute('class') : ''; }"""


@pytest.mark.browser
def test_legend_follows_the_shading_and_overlays_stay_on_top(committee: object, map_file: Path) -> None:
    area = committee.area
    idaci_fills = {DECILE_COLORS[d - 1] for d in area.lsoas["idaci_decile"]}
    imd_fills = {DECILE_COLORS[d - 1] for d in area.lsoas["imd_decile"]}
    with open_page(map_file, width=1440, height=900) as page:
        heading = page.locator(".geoplan-shading-heading")
        gap = page.locator("path.geoplan-gap").first
        assert heading.inner_text() == "IMD 2025 national decile"

        def topmost_at_gap() -> str:
            box = gap.bounding_box()
            return page.evaluate(_TOP_PATH_AT, [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])

        assert "geoplan-gap" in topmost_at_gap()
        control = page.locator(".leaflet-control-layers")
        for layer, title, fills in (
            ("IDACI", "IDACI 2025 national decile", idaci_fills),
            ("IMD", "IMD 2025 national decile", imd_fills),
        ):
            control.hover()
            control.get_by_text(f"Shading: {layer} 2025 national decile").click()
            page.mouse.move(5, 400)
            assert heading.inner_text() == title
            shown = set(page.eval_on_selector_all("path.geoplan-lsoa", "els => els.map(e => e.getAttribute('fill'))"))
            assert shown == fills
            # The gap outline is still what a click at its centre hits, not the new shading.
            assert "geoplan-gap" in topmost_at_gap()
            panes = page.evaluate(
                """() => ['shading', 'bands', 'gaps', 'wards'].map(
                    n => Number(getComputedStyle(document.querySelector('.leaflet-geoplan-' + n + '-pane')).zIndex))"""
            )
            assert panes == sorted(panes) and len(set(panes)) == 4
            assert page.locator("path.geoplan-band").count() == 3 and page.locator("path.geoplan-ward").count() == 17
        assert page.errors == []


@pytest.mark.browser
@pytest.mark.parametrize(("width", "height"), [(1024, 768), (1440, 900)])
def test_title_legend_and_layer_list_leave_the_top_gaps_clear(
    committee: object, map_file: Path, width: int, height: int
) -> None:
    gaps = top_gap_areas(committee.views[0].gaps, committee.area)
    # Bexley's highest-need gap areas are in Thamesmead East, in the north-west corner.
    assert list(gaps["ward_name"].head(2)) == ["Thamesmead East"] * 2
    with open_page(map_file, width=width, height=height) as page:
        boxes = {
            name: page.locator(selector).bounding_box()
            for name, selector in (
                ("title", ".geoplan-header"),
                ("legend", ".geoplan-legend"),
                ("layers", ".leaflet-control-layers"),
            )
        }
        for name, box in boxes.items():
            assert box["x"] >= 0 and box["y"] >= 0, name
            assert box["x"] + box["width"] <= width and box["y"] + box["height"] <= height, name
        for index in range(6):
            gap_box = page.locator("path.geoplan-gap").nth(index).bounding_box()
            for name, box in boxes.items():
                assert not _overlap(gap_box, box), f"{name} covers gap {index + 1}"
        # The legend folds away and opens again.
        legend = page.locator(".geoplan-legend")
        legend.locator("summary").click()
        assert not legend.locator(".body").is_visible()
        legend.locator("summary").click()
        assert legend.locator(".body").is_visible()


@pytest.mark.browser
def test_popups_fit_the_screen_in_plain_words(committee: object, map_file: Path) -> None:
    width, height = 1024, 768
    area = committee.area
    codes = set(area.sessions["age_group"]) | set(area.sessions["provider"]) | set(area.venues["kind"])
    codes = {code for code in codes if "_" in code}
    assert {"under_1", "pregnancy_to_1", "childrens_centre"} <= codes
    notes = [note for note in area.venues["notes"] if note]
    with open_page(map_file, width=width, height=height) as page:
        venues = page.locator(".geoplan-venue")
        for index in range(venues.count()):
            venues.nth(index).dispatch_event("click")
            page.wait_for_timeout(300)
            box = page.locator(".leaflet-popup").bounding_box()
            assert box["x"] >= 0 and box["y"] >= 0, index
            assert box["x"] + box["width"] <= width and box["y"] + box["height"] <= height, index
            # Nothing on the map sits over it: the legend folds while a popup is open.
            for control in (".leaflet-control-layers", ".geoplan-legend", ".leaflet-control-zoom"):
                assert not _overlap(box, page.locator(control).bounding_box()), (index, control)
            text = page.locator(".leaflet-popup-content").inner_text()
            assert not [code for code in codes if code in text], text
            assert not [note for note in notes if note[:40] in text], text
            page.evaluate(_CLOSE_POPUPS)
            page.locator(".leaflet-popup").wait_for(state="detached")
        assert page.errors == []


def test_analyst_popups_carry_the_notes(committee: object) -> None:
    page = render_html(committee_map(committee, analyst=True))
    public = render_html(committee_map(committee))
    note = "marker likely mis-geocoded"
    assert note in page and note not in public
    assert "Venue id: cc-west-street" in page and "cc-west-street" not in public


@pytest.mark.browser
def test_ward_names_show_at_borough_zoom_and_hide_when_zoomed_out(committee: object, map_file: Path) -> None:
    names = set(committee.area.wards["ward_name"])
    with open_page(map_file, width=1024, height=768) as page:
        labels = page.locator(".geoplan-label.ward")
        assert set(labels.all_inner_texts()) == names and len(names) == 17
        assert labels.first.is_visible()
        assert set(page.locator(".geoplan-label.gap").all_inner_texts()) == {str(rank) for rank in range(1, 11)}
        page.evaluate(
            "() => Object.keys(window).filter(k => k.startsWith('map_')).forEach(k => window[k].setZoom(10, {animate: false}))"
        )
        page.wait_for_timeout(200)
        assert not labels.first.is_visible()


def test_png_has_the_requested_size_and_shows_the_legend(committee: object, tmp_path: Path) -> None:
    width, height, dpi = 1200, 850, 100
    figure = committee_figure(committee, width_px=width, height_px=height, dpi=dpi)
    out = write_png(figure, tmp_path / "map.png")
    pixels = matplotlib.image.imread(out)
    assert pixels.shape[:2] == (height, width)
    legend = figure.legends[0]
    box = legend.get_window_extent(figure.canvas.get_renderer())
    # The legend sits inside the image, right of the map, and holds every decile swatch in its colour.
    assert 0 <= box.x0 < box.x1 <= width and 0 <= box.y0 < box.y1 <= height
    crop = pixels[int(height - box.y1) : int(height - box.y0), int(box.x0) : int(box.x1), :3]
    colours = {tuple(round(c * 255) for c in pixel) for pixel in crop.reshape(-1, 3)}
    for color in DECILE_COLORS:
        assert tuple(int(color[i : i + 2], 16) for i in (1, 3, 5)) in colours
    texts = [text.get_text() for text in legend.get_texts()]
    assert texts[0] == "1 (most deprived 10%)" and "Children's centre" in texts
    assert legend.get_title().get_text() == "IMD 2025 national decile"
    labels = {text.get_text() for ax in figure.axes for text in ax.texts}
    assert "N" in labels and "2 km" in labels  # north arrow and scale bar (Bexley is ~11 km across)
    footer = " ".join(text.get_text() for text in figure.texts)
    assert "Open Government Licence" in footer
    # The map is drawn too: the colour of every IMD decile present in Bexley (2-10) fills LSOAs left of the legend.
    outside = {tuple(pixel) for pixel in np.round(pixels[:, : int(box.x0), :3] * 255).astype(int).reshape(-1, 3)}
    present = sorted(set(committee.area.lsoas["imd_decile"]))
    assert present == list(range(2, 11))
    for decile in present:
        color = DECILE_COLORS[decile - 1]
        assert tuple(int(color[i : i + 2], 16) for i in (1, 3, 5)) in outside
    assert tuple(int(DECILE_COLORS[0][i : i + 2], 16) for i in (1, 3, 5)) not in outside


def test_png_uses_its_width_names_wards_and_draws_closed_venues_as_on_the_map(committee: object) -> None:
    area = committee.area
    width, height = 2339, 1654
    figure = committee_figure(committee)
    renderer = figure.canvas.get_renderer()
    map_box = figure.axes[0].get_window_extent(renderer)
    legend_box = figure.legends[0].get_window_extent(renderer)
    panel = next(text for text in figure.texts if text.get_gid() == "gap-panel")
    panel_box = panel.get_window_extent(renderer)
    # Map, legend and the list of numbered gaps side by side fill at least 90% of the width, not overlapping.
    assert map_box.x1 <= legend_box.x0 < legend_box.x1 <= panel_box.x0 and panel_box.x1 <= width
    assert (panel_box.x1 - map_box.x0) / width >= 0.9
    assert panel_box.y0 >= 0
    top = top_gap_areas(committee.views[0].gaps, area)
    assert panel.get_text().count("\n1. ") == 1 and f"1. {top['ward_name'].iloc[0]}" in panel.get_text()
    assert legend_box.y0 >= 0 and legend_box.y1 <= height
    texts = {text.get_text().replace("\n", " ") for text in figure.axes[0].texts}
    assert set(area.wards["ward_name"]) <= texts
    assert {str(rank) for rank in range(1, settings.top_gaps + 1)} <= texts
    # Closed venues: the legend shows each closed kind's own symbol in grey, as the map draws them.
    view = committee.views[0]
    closed_kinds = set(
        view.venues.loc[
            ~view.venues["venue_id"].isin(view.configuration.open_venue_ids) & view.venues["located"], "kind"
        ]
    )
    styles = area.catalogue.venues.styles
    expected = {SYMBOL_MARKERS[styles[kind].symbol] for kind in closed_kinds}
    legend = figure.legends[0]
    closed = next(
        handle
        for handle, text in zip(legend.legend_handles, legend.get_texts(), strict=True)
        if text.get_text().startswith("Closed")
    )
    drawn = {line.get_marker() for line in (closed if isinstance(closed, tuple) else [closed])}
    assert expected == {"*"} and drawn == expected


def test_png_rejects_impossible_sizes(committee: object) -> None:
    with pytest.raises(ValueError, match="width must be between"):
        build_figure(committee.area, width_px=10)


def test_cli_writes_map_and_png_and_names_them(
    mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(settings, "data_dir", mirror)
    out, png = tmp_path / "out" / "bexley-map.html", tmp_path / "out" / "bexley-map.png"
    monkeypatch.setattr(
        sys,
        "argv",
        ["geoplan", "map", "--out", str(out), "--png", str(png), "--width", "800", "--height", "600", "--dpi", "100"],
    )
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code in (0, None)
    printed = capsys.readouterr().out
    assert f"Map written to {out}" in printed and f"figure written to {png}" in printed
    assert out.stat().st_size < MAX_MAP_BYTES
    assert matplotlib.image.imread(png).shape[:2] == (600, 800)
    assert {path.name for path in out.parent.iterdir()} == {"bexley-map.html", "bexley-map.png"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--decile", "income"], "unknown deprivation index 'income'"),
        (["--scenario", "baseline", "--compare", "baseline", "baseline"], "give --scenario or --compare"),
        (["--png", "x.png", "--width", "5"], "width must be between"),
    ],
)
def test_cli_errors_are_one_line(
    args: list[str],
    message: str,
    mirror: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(settings, "data_dir", mirror)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["geoplan", "map", "--out", str(tmp_path / "m.html"), *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert message in error and "\n" not in error
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "m.html").exists()


def test_render_html_is_stable_across_renders(committee: object) -> None:
    fmap = committee_map(committee)
    assert render_html(fmap).count('version="1.9.4"') == 1
    assert render_html(fmap).count('version="1.9.4"') == 1


def test_basemap_is_an_online_option_credited_to_openstreetmap(committee: object) -> None:
    offline = render_html(committee_map(committee))
    online = render_html(committee_map(committee, basemap=True))
    assert "tile.openstreetmap.org" not in offline and "OpenStreetMap contributors" not in offline
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in online
    assert "OpenStreetMap contributors (ODbL)" in online


def test_every_code_in_the_shipped_files_has_plain_words(mirror: Path) -> None:
    # The codes each shipped area's venue and session files use, read straight from the CSVs.
    columns = {"age_group": "sessions.csv", "provider": "sessions.csv", "frequency": "sessions.csv"}
    for folder in sorted(path for path in (REPO / "layers").iterdir() if path.is_dir()):
        for column, name in columns.items():
            used = set(pd.read_csv(folder / name, dtype=str)[column].dropna())
            assert used <= set(getattr(CODE_LABELS, column)), (folder.name, column)
    assert set(CODE_LABELS.status_2021) == set(STATUSES_2021) - {"n/a"}
    assert words("under_1", CODE_LABELS.age_group) == "babies under 1"
    assert words("stay_and_play", CODE_LABELS.age_group) == "stay and play"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("age_group: {}\nprovider: {}\nfrequency: {}\n", "field 'status_2021': Field required"),
        ("age_group: {}\nprovider: {}\nfrequency: {}\nstatus_2021: {}\nsizes: {}\n", "field 'sizes'"),
        ("age_group: {under_1: [babies]}\nprovider: {}\nfrequency: {}\nstatus_2021: {}\n", "age_group.under_1"),
        ("age_group: {under_1: babies\n", "line 2: not valid YAML"),
    ],
)
def test_a_broken_labels_file_is_a_one_line_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "labels.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=re.escape(message)) as info:
        load_code_labels(path)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)
