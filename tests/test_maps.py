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
from geoplan.figure import build_figure, write_png
from geoplan.maps import DECILE_COLORS, build_map, leaflet_assets, map_summary, render_html, write_map
from geoplan.report import committee_figure, committee_map, load_committee

REPO = Path(__file__).resolve().parent.parent
VENUES_CSV = REPO / "layers" / "bexley" / "venues.csv"
SCENARIOS = REPO / "scenarios"
#: The acceptance limit on the map file.
MAX_MAP_BYTES = 5_000_000
XSS_NAME = "<script>alert(1)</script>"
XSS_SESSION = '<img src="x" onerror="alert(2)">'


@pytest.fixture(scope="module")
def committee(mirror: Path) -> object:
    return load_committee([None], data_dir=mirror)


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
    assert layers["LSOAs by IMD 2025 national decile"] == 148
    assert layers["LSOAs by IDACI 2025 national decile"] == 148
    assert layers["Wards"] == 17
    assert layers["Walking bands"] == 3  # 10, 15 and 20 minutes around the centres taken together
    assert layers["Venues"] == located == 48
    gap_layer = next(name for name in layers if name.startswith("Top ") and "gap areas" in name)
    assert layers[gap_layer] == min(20, len(committee.views[0].gaps.clusters))


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
        control.get_by_text("Venues", exact=True).click()
        assert page.locator(".geoplan-venue").count() == 0
        control.get_by_text("Venues", exact=True).click()
        assert page.locator(".geoplan-venue").count() == 48
        control.get_by_text("Children aged 0-4 by postcode (estimate)").click()
        assert page.locator("path.geoplan-children").count() == int((area.children["children_0_4"] > 0).sum())
        control.get_by_text("LSOAs by IDACI 2025 national decile").click()
        assert page.locator("path.geoplan-lsoa").count() == 148
        fills = set(page.eval_on_selector_all("path.geoplan-lsoa", "els => els.map(e => e.getAttribute('fill'))"))
        assert fills == idaci_fills

        west_street = area.sessions[area.sessions["venue_id"] == "cc-west-street"]
        page.locator('.geoplan-venue[title="West Street Children\'s Centre"]').click(force=True)
        popup = page.locator(".leaflet-popup-content").inner_text()
        assert "174 Chandlers Drive, Erith, Kent, DA8 1LW" in popup
        assert f"Sessions ({len(west_street)})" in popup
        for title in west_street["title"]:
            assert title in popup
        assert page.failed == [] and page.errors == []


@pytest.mark.browser
def test_data_text_is_escaped_in_the_map(committee: object, tmp_path: Path) -> None:
    area = committee.area
    view = committee.views[0]
    venues = view.venues.copy()
    venues.loc[venues["venue_id"] == "cc-west-street", "name"] = XSS_NAME
    configuration = view.configuration
    sessions = configuration.sessions.copy()
    sessions.loc[sessions["venue_id"] == "cc-west-street", "title"] = XSS_SESSION
    configuration = type(configuration)(configuration.open_venue_ids, configuration.centre_ids, configuration.kinds,
                                        sessions)  # fmt: skip
    out = tmp_path / "xss.html"
    write_map(build_map(area, configuration=configuration, venues=venues, title=XSS_NAME), out)
    page_text = out.read_text(encoding="utf-8")
    assert XSS_NAME not in page_text and "<img src" not in page_text
    with open_page(out) as page:
        page.locator(".geoplan-venue-open").first.wait_for()
        page.locator(f'.geoplan-venue[title="{XSS_NAME}"]').click(force=True)
        popup = page.locator(".leaflet-popup-content")
        assert XSS_NAME in popup.inner_text()
        assert XSS_SESSION in popup.inner_text()
        assert popup.locator("script, img").count() == 0
        assert XSS_NAME in page.locator(".geoplan-title").inner_text()
        assert page.title() == XSS_NAME
        page.wait_for_timeout(200)
        assert page.log.dialogs == []
        assert page.failed == [] and page.errors == []


@pytest.mark.browser
def test_compared_scenarios_render_side_by_side_and_pan_together(mirror: Path, tmp_path: Path) -> None:
    before = SCENARIOS / "bexley-2021-before.yaml"
    adopted = SCENARIOS / "bexley-2021-adopted.yaml"
    committee = load_committee([before, adopted], data_dir=mirror)
    out = tmp_path / "compare.html"
    write_map(committee_map(committee), out)
    with open_page(out) as page:
        assert page.failed == [] and page.errors == []
        assert page.locator(".folium-map").count() == 2
        assert page.locator("path.geoplan-lsoa").count() == 2 * 148
        # The 1 September 2021 Cabinet report: 9 centre buildings before, 5 in the adopted model.
        titles = page.locator(".geoplan-title").all_inner_texts()
        assert "before" in titles[0].lower() and "adopted" in titles[1].lower()
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
    centres = [view.configuration.centre_ids for view in committee.views]
    assert (len(centres[0]), len(centres[1])) == (9, 5)


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
    colours = {tuple(int(round(c * 255)) for c in pixel) for pixel in crop.reshape(-1, 3)}
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


def test_png_rejects_impossible_sizes(committee: object) -> None:
    with pytest.raises(ValueError, match="width must be between"):
        build_figure(committee.area, width_px=10)


def test_cli_writes_map_and_png_and_names_them(
    mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(settings, "data_dir", mirror)
    out, png = tmp_path / "out" / "bexley-map.html", tmp_path / "out" / "bexley-map.png"
    monkeypatch.setattr(sys, "argv", ["geoplan", "map", "--out", str(out), "--png", str(png), "--width", "800",
                                      "--height", "600", "--dpi", "100"])  # fmt: skip
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
    args: list[str], message: str, mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
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
