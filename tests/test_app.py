"""The planner app in headless Chromium, walked as planners and outreach leads use it.

The server is ``geoplan serve`` on an ephemeral 127.0.0.1 port; every request to anywhere else is
blocked and recorded, and each page must finish with no failed request and no console error.
Every figure the page shows is checked against the engine (:class:`geoplan.planner.PlannerSession`
and :func:`geoplan.scenarios.compare`, the numbers of ``geoplan scenario run`` and the report).
Waits are for states of the page, never for fixed times, with generous limits for a loaded machine.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from bexley_facts import CENTRES_2025
from browser import ALLOWED_PREFIXES, CHROMIUM, CHROMIUM_ARGS, LOAD_TIMEOUT_MS, PageLog, require_chromium

from geoplan.planner import PlannerSession
from geoplan.scenarios import load_scenario, resolve_scenario
from geoplan.workspace import Workspace

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
BEXLEY = REPO / "layers" / "bexley.yaml"
#: Seconds the server may take to start (it loads the study area and travel times).
START_TIMEOUT_S = 120
#: Milliseconds an edit may take to show in the page before the test fails (not a speed target).
UPDATE_TIMEOUT_MS = 60_000
#: Milliseconds a download (the report renders a map and a figure) may take.
DOWNLOAD_TIMEOUT_MS = 180_000
CONCURRENT_SESSIONS = 6
CENTRES = CENTRES_2025
#: Viewports the layout must fit without horizontal scrolling.
VIEWPORTS = ((1280, 800), (1440, 900))
#: A live postcode well outside Bexley (Westminster).
OUTSIDE_POSTCODE = "SW1A 2AA"
#: Metrics element that pierces Panel's shadow roots (document.querySelector does not).
FIND = """(selector) => {
  const walk = (root) => {
    const hit = root.querySelector(selector);
    if (hit) return hit;
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) { const found = walk(el.shadowRoot); if (found) return found; }
    }
    return null;
  };
  return walk(document);
}"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(mirror: Path, folder: Path, *arguments: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, int]]:
    """``geoplan serve`` on a free port; yields the app's URL and the server's process id."""
    require_chromium()
    port = _free_port()
    environ = {key: value for key, value in os.environ.items() if not key.startswith(("PANEL_", "GEOPLAN_CRED"))}
    environ.update({"GEOPLAN_DATA": str(mirror), **(env or {})})
    command = [sys.executable, "-c", "from geoplan.cli import main; main()", "serve", "--port", str(port), *arguments]
    log = folder / f"server-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=environ, stdout=output, stderr=subprocess.STDOUT, cwd=folder)
    url = f"http://127.0.0.1:{port}/planner_app"
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"geoplan serve exited: {log.read_text(errors='replace')}")
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=10) as response:
                if response.status == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail("geoplan serve did not answer in time")
            time.sleep(0.5)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def server(mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(mirror, tmp_path_factory.mktemp("server")) as (url, _):
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    require_chromium()
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def workspace(mirror: Path) -> Workspace:
    return Workspace.shared(BEXLEY, data_dir=mirror)


class AppPage:
    """One browser session of the app, with every blocked or failed request and console error recorded."""

    def __init__(self, browser: object, url: str, *, wait: bool = True, width: int = 1440, height: int = 900) -> None:
        self.log = PageLog()
        self.context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.set_default_timeout(UPDATE_TIMEOUT_MS)
        self.page.on("console", lambda message: message.type == "error" and self.log.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.log.errors.append(str(error)))
        self.page.on(
            "requestfailed",
            lambda request: (
                request.url in self.log.blocked or self.log.failed.append(f"{request.url} ({request.failure})")
            ),
        )
        self.page.goto(url, wait_until="commit", timeout=LOAD_TIMEOUT_MS * 4)
        if wait:
            self.ready()

    def ready(self) -> None:
        """Wait until the app has drawn its numbers and filled its tables."""
        self.page.locator(".geoplan-share").wait_for(timeout=LOAD_TIMEOUT_MS * 4)
        self.page.locator(".tabulator-row").first.wait_for(timeout=LOAD_TIMEOUT_MS * 4)

    def _route(self, route: object) -> None:
        if route.request.url.startswith(ALLOWED_PREFIXES):
            route.continue_()
        else:
            self.log.blocked.append(route.request.url)
            route.abort()

    def close(self) -> None:
        self.context.close()

    def assert_clean(self) -> None:
        assert self.log.blocked == [], self.log.blocked
        assert self.log.failed == [], self.log.failed
        assert self.log.errors == [], self.log.errors

    def metric(self, name: str) -> str:
        return self.page.locator(f".geoplan-{name}").first.inner_text()

    def data(self, selector: str, name: str) -> str | None:
        name = _camel(name)
        return self.page.evaluate(
            f"(s) => {{ const el = ({FIND})(s); return el ? el.dataset['{name}'] : null; }}", selector
        )

    def wait_data(self, selector: str, name: str, value: str) -> None:
        """Wait until ``data-<name>`` of ``selector`` is ``value`` (the state, not a time)."""
        name = _camel(name)
        self.page.wait_for_function(
            f"([s, v]) => {{ const el = ({FIND})(s); return el && el.dataset['{name}'] === v; }}",
            arg=[selector, value],
            polling=200,
            timeout=UPDATE_TIMEOUT_MS,
        )

    def wait_text(self, selector: str, text: str) -> None:
        self.page.locator(selector, has_text=text).first.wait_for(timeout=UPDATE_TIMEOUT_MS)

    def open_cell(self, venue_name: str) -> object:
        row = self.page.locator(".tabulator-row", has_text=venue_name).first
        cell = row.locator('[tabulator-field="Open"]')
        cell.scroll_into_view_if_needed()
        return cell

    def toggle(self, venue_name: str) -> None:
        """Click a venue's *Open* cell and wait for the figures to change."""
        before = self.data(".geoplan-metrics", "covered")
        self.open_cell(venue_name).click()
        self.page.wait_for_function(
            f"(before) => {{ const el = ({FIND})('.geoplan-metrics'); return el && el.dataset.covered !== before; }}",
            arg=before,
            polling=200,
            timeout=UPDATE_TIMEOUT_MS,
        )

    def select(self, widget: str, option: str) -> None:
        """Choose the first option containing ``option`` in the drop-down labelled ``widget``."""
        dropdown = self.page.get_by_label(widget, exact=True)
        dropdown.locator("option", has_text=option).first.wait_for(state="attached", timeout=UPDATE_TIMEOUT_MS)
        value = dropdown.locator("option", has_text=option).first.get_attribute("value")
        dropdown.select_option(value=value)

    def click_button(self, name: str) -> None:
        self.page.locator("button", has_text=name).first.click()

    def tab(self, name: str) -> None:
        self.page.locator(".bk-tab", has_text=name).first.click()

    def upload(self, name: str, content: bytes) -> None:
        self.page.locator("input[type=file]").first.set_input_files(
            files=[{"name": name, "mimeType": "application/x-yaml", "buffer": content}]
        )

    def download(self, button: str) -> tuple[str, bytes]:
        with self.page.expect_download(timeout=DOWNLOAD_TIMEOUT_MS) as info:
            self.click_button(button)
        return info.value.suggested_filename, Path(info.value.path()).read_bytes()

    def error_for(self, control: str) -> str:
        locator = self.page.locator(f'.geoplan-error[data-for="{control}"]')
        locator.wait_for(timeout=UPDATE_TIMEOUT_MS)
        return locator.inner_text()


def shows(picker: object, label: str) -> None:
    """Wait until a drop-down shows ``label`` (Panel's option values are their labels)."""
    from playwright.sync_api import expect

    expect(picker).to_have_value(label, timeout=UPDATE_TIMEOUT_MS)


def _camel(name: str) -> str:
    """``types-losing`` → ``typesLosing``, as ``element.dataset`` names ``data-types-losing``."""
    head, *rest = name.split("-")
    return head + "".join(part.capitalize() for part in rest)


@pytest.fixture
def app(browser, server) -> Iterator[AppPage]:
    page = AppPage(browser, server)
    yield page
    page.close()


def engine(workspace: Workspace, *edits: tuple) -> PlannerSession:
    """A fresh engine session after ``edits`` (method name, arguments)."""
    session = PlannerSession(workspace)
    for name, *args in edits:
        getattr(session, name)(*args)
    return session


def test_planners_path(app: AppPage, workspace: Workspace, tmp_path: Path) -> None:
    """Close a centre → who loses by ward → undo → move sessions → save → reload → load from another folder → report."""
    baseline = engine(workspace).metrics()
    assert app.metric("covered") == f"{baseline['covered']:,.0f}"

    closed = engine(workspace, ("toggle_venue", "cc-north-cray", False))
    app.toggle("North Cray Children's Centre")
    app.wait_data(".geoplan-metrics", "losing", f"{closed.metrics()['children_losing']:.0f}")
    app.wait_text(".geoplan-changes", "Close North Cray Children's Centre")
    assert "cc-north-cray" not in app.page.locator(".geoplan-changes").inner_text()
    app.tab("Who gains and loses")
    wards = closed.who_changes()["ward"]
    worst = wards.iloc[0]
    assert worst["Lose"] > 0
    app.wait_data(".geoplan-who", "losing", f"{closed.comparison().summary['children_losing']:.0f}")
    row = app.page.locator(".tabulator-row", has_text=worst["Ward"]).first
    row.locator('[tabulator-field="Lose"]', has_text=str(worst["Lose"])).wait_for()

    app.click_button("Undo")
    app.wait_data(".geoplan-metrics", "losing", "0")
    app.wait_text(".geoplan-changes", "none (current programme)")

    app.tab("Scenario")
    shipped = resolve_scenario("bexley-north-cray-to-thamesmead")
    moves = [
        (session_id, change.move_sessions.to)
        for change in shipped.changes
        for session_id in change.move_sessions.sessions
    ]
    moved = engine(workspace, *[("move_session", *move) for move in moves])
    assert (
        moved.metrics()["session_types"]
        == engine(workspace, ("load_scenario", shipped.name)).metrics()["session_types"]
    )
    for change in shipped.changes:
        for session_id in change.move_sessions.sessions:
            title = workspace.area.sessions.set_index("session_id").loc[session_id, "title"]
            venues = workspace.area.venues.set_index("venue_id")["name"]
            target = venues[change.move_sessions.to]
            app.select("Session", f"{title} ({venues[change.move_sessions.from_]}")
            app.select("Move to", target)
            app.click_button("Move session")
            app.wait_text(".geoplan-changes", title)
    # Issue 14: moving sessions showed "0 gain, 0 lose"; scenario run counts children losing a session type.
    summary = moved.comparison().summary
    assert summary["children_losing_a_session_type"] > 0
    app.wait_data(".geoplan-metrics", "types-losing", f"{summary['children_losing_a_session_type']:.0f}")
    assert app.data(".geoplan-metrics", "types-gaining") == f"{summary['children_gaining_a_session_type']:.0f}"

    name_box = app.page.get_by_label("Save as (file name)", exact=True)
    name_box.fill("north cray moves")
    filename, saved = app.download("Save scenario")
    assert filename == "north-cray-moves.yaml"
    app.wait_text(".geoplan-ok", "Saved as north-cray-moves.yaml")
    text = saved.decode("utf-8")
    assert "base: bexley\n" in text and "name: north-cray-moves\n" in text

    app.page.wait_for_function("() => location.search.includes('scenario=')", timeout=UPDATE_TIMEOUT_MS)
    app.page.reload(wait_until="commit")
    app.ready()
    app.wait_data(".geoplan-metrics", "types-losing", f"{summary['children_losing_a_session_type']:.0f}")
    assert app.page.locator(".geoplan-changes li").count() == len(moved.scenario.changes)

    # Issue 14: a saved file validated only in scenarios/; from another folder it loads as it is.
    elsewhere = tmp_path / "committee" / "march"
    elsewhere.mkdir(parents=True)
    copy = elsewhere / filename
    copy.write_bytes(saved)
    assert load_scenario(copy).base_path() == BEXLEY.resolve()
    app.click_button("Start again")
    app.click_button("Discard my edits and load it")
    app.wait_data(".geoplan-metrics", "types-losing", "0")
    app.page.locator("input[type=file]").first.set_input_files(str(copy))
    app.wait_data(".geoplan-metrics", "types-losing", f"{summary['children_losing_a_session_type']:.0f}")
    picker = app.page.get_by_label("Start from", exact=True)
    shows(picker, f"Uploaded: {filename}")

    report_name, report = app.download("Committee report")
    page = report.decode("utf-8")
    assert report_name == "north-cray-moves-report.html"
    assert page.lstrip().lower().startswith("<!doctype html>")
    assert f"{summary['covered_after']:,.0f}" in page
    assert "Move" in page
    app.assert_clean()


def test_outreach_leads_path(app: AppPage, workspace: Workspace) -> None:
    """Plan three months of visits against the edited scenario, read the dates, see why fewer visits than asked,
    download the CSV and the calendar."""
    app.toggle("Danson Children's Centre")
    app.tab("Outreach")
    start = app.page.get_by_label("First month", exact=True)
    first_month = _first_of(start.locator("option").first.inner_text())
    edited = engine(workspace, ("toggle_venue", "cc-danson", False))
    plan = edited.outreach(months=3, visits_per_month=6, start=first_month)
    assert plan.summary["programme"] != engine(workspace).outreach(months=3, start=first_month).summary["programme"]
    app.click_button("Plan visits")
    app.wait_data(".geoplan-outreach", "visits", str(len(plan.visits)))
    note = app.page.locator(".geoplan-outreach").inner_text()
    assert "(edited in the planner)" in note
    assert plan.visits["date"].min().strftime("%A %d %B %Y") in note
    for day in plan.visits["date"][:3]:
        app.wait_text(".tabulator-row", day.strftime("%a %d %b %Y"))
    _, data = app.download("Download CSV")
    assert data.decode("utf-8") == plan.to_csv()
    _, calendar = app.download("Download calendar")
    assert calendar.decode("utf-8").count("BEGIN:VEVENT") == len(plan.visits)

    visits = app.page.get_by_label("Visits a month", exact=True)
    visits.fill("30")
    visits.press("Enter")
    many = edited.outreach(months=3, visits_per_month=30, start=first_month)
    assert len(many.visits) < 90 and many.shortfall
    app.click_button("Plan visits")
    app.wait_data(".geoplan-outreach", "asked", "90")
    app.wait_text(".geoplan-outreach", many.shortfall[:60])
    app.assert_clean()


def _first_of(label: str) -> dt.date:
    return dt.datetime.strptime(label, "%B %Y").date()


def test_upload_picker_start_again_and_unsaved_edits(app: AppPage, workspace: Workspace) -> None:
    """Issue 14: the picker kept the old scenario after an upload, Start again reloaded the wrong one, the
    same file chosen again did nothing, and a picker change discarded edits without a word."""
    shipped = resolve_scenario("bexley-2021-option2-one-centre")
    text = (REPO / "scenarios" / "bexley-2021-option2-one-centre.yaml").read_bytes()
    one_centre = engine(workspace, ("load_scenario", "bexley-2021-option2-one-centre")).metrics()
    app.upload("one-centre.yaml", text)
    app.wait_data(".geoplan-metrics", "covered", f"{one_centre['covered']:.0f}")
    picker = app.page.get_by_label("Start from", exact=True)
    shows(picker, "Uploaded: one-centre.yaml")
    assert shipped.title in app.page.locator(".geoplan-scenario-title").inner_text()

    app.open_cell("Danson Children's Centre").click()  # re-open Danson: an edit
    app.wait_text(".geoplan-changes", "Danson")
    app.select("Start from", "Current programme")
    app.wait_text(".geoplan-discard", "unsaved edits")
    app.click_button("Keep editing")
    shows(picker, "Uploaded: one-centre.yaml")
    assert "Danson" in app.page.locator(".geoplan-changes").inner_text()

    app.click_button("Start again")
    app.click_button("Discard my edits and load it")
    app.wait_data(".geoplan-metrics", "covered", f"{one_centre['covered']:.0f}")  # the uploaded file, not another
    app.open_cell("Danson Children's Centre").click()
    app.wait_text(".geoplan-changes", "Danson")
    app.click_button("Save scenario")  # saving marks the edits saved
    app.wait_text(".geoplan-ok", "Saved as")
    app.upload("one-centre.yaml", text)  # the same file again loads again
    app.wait_data(".geoplan-metrics", "covered", f"{one_centre['covered']:.0f}")
    app.assert_clean()


def test_errors_show_next_to_their_control_in_plain_words(app: AppPage) -> None:
    """A postcode outside the area is flagged beside the postcode box; upload errors beside the file box."""
    box = app.page.get_by_label("Or open a new centre at a postcode", exact=True)
    box.fill(OUTSIDE_POSTCODE)
    app.click_button("Add centre")
    message = app.error_for("postcode")
    assert OUTSIDE_POSTCODE in message and "London Borough of Bexley" in message
    assert "field" not in message and "changes[" not in message
    app.upload("broken.yaml", b"version: 1\nname: broken\ntitle: [unclosed\nchanges: []\n")
    assert app.error_for("file").startswith("broken.yaml, line 3")
    assert not app.page.locator('.geoplan-error[data-for="postcode"]').is_visible()
    ids = re.compile(r"\b(cc|lib|com|ey)-[a-z-]+\b|childrens_centre|under_[0-9]|stay_and_play")
    for selector in (".geoplan-changes", ".geoplan-metrics"):
        assert not ids.search(app.page.locator(selector).inner_text())
    tables = " ".join(app.page.locator(".tabulator").all_inner_texts())
    assert not ids.search(tables), ids.search(tables)
    app.assert_clean()


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_layout_fits_without_horizontal_scroll(browser, server, width: int, height: int) -> None:
    page = AppPage(browser, server, width=width, height=height)
    try:
        scroll, client = page.page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert scroll <= client
        note = page.page.locator(".geoplan-chart-note").inner_text()
        assert "IMD 1" in note  # Bexley has no LSOA in the most deprived IMD decile: said, not drawn as 0%
        page.assert_clean()
    finally:
        page.close()


def test_report_headline_uses_the_scenario_band(app: AppPage, workspace: Workspace) -> None:
    """Issue 14: the report of a 20-minute scenario had a 15-minute headline."""
    app.select("Walking time (minutes)", "20")
    app.wait_data(".geoplan-metrics", "band", "20")
    _, report = app.download("Committee report")
    page = report.decode("utf-8")
    headline = re.search(r'<p class="headline">(.*?)</p>', page, re.S)
    assert headline is not None
    assert "20-minute" in headline.group(1) and "15-minute" not in headline.group(1)
    app.assert_clean()


def test_login_needs_a_known_user_never_answers_500_and_works_offline(browser, mirror: Path, tmp_path: Path) -> None:
    """Issue 14: basic auth without a cookie secret answered HTTP 500, took any user name, showed the
    password in the process list, and its login page loaded a logo from the internet."""
    password = "correct horse battery staple"
    users = tmp_path / "users.json"
    users.write_text(json.dumps({"planner": password}), encoding="utf-8")
    users.chmod(0o600)
    with serve(mirror, tmp_path, env={"GEOPLAN_CREDENTIALS": str(users)}) as (url, pid):
        command = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        assert password not in command
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                assert response.status == 200
                assert "Sign in" in response.read().decode()
        except urllib.error.HTTPError as exc:  # pragma: no cover - the failure being tested
            pytest.fail(f"login answered HTTP {exc.code}")
        page = AppPage(browser, url, wait=False)
        try:
            page.page.wait_for_selector("input[name=username]")
            page.page.fill("input[name=username]", "intruder")
            page.page.fill("input[name=password]", password)
            page.page.click("button[type=submit]")
            page.page.locator(".error", has_text="Invalid").wait_for()
            page.page.fill("input[name=username]", "planner")
            page.page.fill("input[name=password]", password)
            page.page.click("button[type=submit]")
            page.ready()
            page.assert_clean()
        finally:
            page.close()


def test_concurrent_sessions_do_not_see_each_other(browser, server, workspace: Workspace) -> None:
    edits = [("toggle_venue", centre, False) for centre in CENTRES[: CONCURRENT_SESSIONS - 2]]
    edits += [("set_band", 10), ("load_scenario", "bexley-2021-before")]
    names = workspace.area.venues.set_index("venue_id")["name"]
    titles = {name: title for title, name in engine(workspace).shipped_scenarios().items()}
    pages = [AppPage(browser, server, wait=False) for _ in edits]
    try:
        for page in pages:
            page.ready()
        for page, edit in zip(pages, edits, strict=True):
            if edit[0] == "toggle_venue":
                page.open_cell(names[edit[1]]).click()
            elif edit[0] == "set_band":
                page.select("Walking time (minutes)", str(edit[1]))
            else:
                page.select("Start from", titles[edit[1]])
        for page, edit in zip(pages, edits, strict=True):
            mine = engine(workspace, edit).metrics()
            page.wait_data(".geoplan-metrics", "covered", f"{mine['covered']:.0f}")
            changes = page.page.locator(".geoplan-changes").inner_text()
            if edit[0] == "toggle_venue":
                assert f"Close {names[edit[1]]}" in changes
                assert all(f"Close {names[other]}" not in changes for other in CENTRES if other != edit[1])
            elif edit[0] == "set_band":
                assert "none (current programme)" in changes
                assert page.data(".geoplan-metrics", "band") == f"{edit[1]:g}"
            else:
                assert page.page.locator(".geoplan-changes li").count() == len(resolve_scenario(edit[1]).changes)
            page.assert_clean()
    finally:
        for page in pages:
            page.close()
