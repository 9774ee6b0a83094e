"""The planner app in headless Chromium: edits show the engine's numbers, files round-trip, sessions stay apart.

The server is ``geoplan serve`` on an ephemeral 127.0.0.1 port; every request to anywhere else is
blocked and recorded, and each page must finish with no failed request and no console error.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import ALLOWED_PREFIXES, CHROMIUM, CHROMIUM_ARGS, LOAD_TIMEOUT_MS, PageLog, require_chromium

from geoplan.planner import PlannerSession, shared_resources
from geoplan.scenarios import resolve_scenario

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
BEXLEY = REPO / "layers" / "bexley.yaml"
#: Seconds the server may take to start (it loads the study area and travel times per session).
START_TIMEOUT_S = 90
#: Milliseconds an edit may take to show in the page before the test fails (not a speed target).
UPDATE_TIMEOUT_MS = 20_000
CONCURRENT_SESSIONS = 10
CENTRES = ("cc-west-street", "cc-northumberland-heath", "cc-normandy-send-hub", "cc-danson", "cc-north-cray",
           "cc-northend")  # fmt: skip
#: Metrics element that pierces Panel's shadow roots (document.querySelector does not).
FIND_METRICS = """() => {
  const walk = (root) => {
    const hit = root.querySelector('.geoplan-metrics');
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


@pytest.fixture(scope="module")
def server(mirror: Path) -> Iterator[str]:
    require_chromium()
    port = _free_port()
    env = {**os.environ, "GEOPLAN_DATA": str(mirror)}
    command = [sys.executable, "-c", "from geoplan.cli import main; main()", "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # noqa: S603
    url = f"http://127.0.0.1:{port}/planner"
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"geoplan serve exited: {process.stdout.read().decode(errors='replace')}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - 127.0.0.1 only
                    if response.status == 200:
                        break
            if time.monotonic() > deadline:
                pytest.fail("geoplan serve did not answer in time")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def resources(mirror: Path):
    return shared_resources(BEXLEY, data_dir=mirror)


class AppPage:
    """One browser session of the app, with every blocked or failed request and console error recorded."""

    def __init__(self, browser: object, url: str, *, wait: bool = True) -> None:
        self.log = PageLog()
        self.context = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda message: message.type == "error" and self.log.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.log.errors.append(str(error)))
        self.page.on("requestfailed", lambda request: request.url in self.log.blocked
                     or self.log.failed.append(f"{request.url} ({request.failure})"))  # fmt: skip
        self.page.goto(url, wait_until="commit", timeout=LOAD_TIMEOUT_MS)
        if wait:
            self.ready()

    def ready(self) -> None:
        """Wait until the app has drawn its numbers."""
        self.page.locator(".geoplan-share").wait_for(timeout=LOAD_TIMEOUT_MS * 2)

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

    def wait_metric(self, name: str, text: str) -> None:
        self.page.locator(f".geoplan-{name}", has_text=text).first.wait_for(timeout=UPDATE_TIMEOUT_MS)
        assert self.metric(name) == text

    def open_cell(self, venue_name: str) -> object:
        cell = self.page.locator(".tabulator-row", has_text=venue_name).first.locator('[tabulator-field="open"]')
        cell.scroll_into_view_if_needed()
        return cell

    def toggle(self, venue_name: str) -> float:
        """Click a venue's *open* cell; returns the milliseconds until the numbers changed."""
        before = self.page.evaluate(f"() => ({FIND_METRICS})().dataset.covered")
        cell = self.open_cell(venue_name)
        started = self.page.evaluate("() => performance.now()")
        cell.click()
        handle = self.page.wait_for_function(
            f"(before) => {{ const el = ({FIND_METRICS})(); "
            "return el && el.dataset.covered !== before && performance.now(); }",
            arg=before, polling="raf", timeout=UPDATE_TIMEOUT_MS,
        )  # fmt: skip
        return handle.json_value() - started

    def select(self, widget: str, option: str) -> None:
        """Choose the first option containing ``option`` in the drop-down labelled ``widget``."""
        dropdown = self.page.get_by_label(widget, exact=True)
        value = dropdown.locator("option", has_text=option).first.get_attribute("value")
        dropdown.select_option(value=value)

    def click_button(self, name: str) -> None:
        self.page.locator("button", has_text=name).first.click()

    def upload(self, name: str, content: bytes) -> None:
        self.page.locator("input[type=file]").first.set_input_files(
            files=[{"name": name, "mimeType": "application/x-yaml", "buffer": content}]
        )

    def download(self, button: str) -> bytes:
        with self.page.expect_download(timeout=UPDATE_TIMEOUT_MS * 3) as info:
            self.click_button(button)
        return Path(info.value.path()).read_bytes()


@pytest.fixture
def app(browser, server):
    page = AppPage(browser, server)
    yield page
    page.close()


def expected(resources, *edits) -> dict:
    """The engine's metrics after ``edits`` (method name, arguments) on a fresh session."""
    session = PlannerSession(resources)
    for name, *args in edits:
        getattr(session, name)(*args)
    return session.metrics()


def test_closing_a_venue_shows_the_engine_coverage_report_and_outreach(app: AppPage, resources) -> None:
    baseline = expected(resources)
    assert app.metric("share") == f"{baseline['share']:.1%}"
    assert app.metric("covered") == f"{baseline['covered']:,.0f}"
    closed = expected(resources, ("toggle_venue", "cc-north-cray", False))
    assert closed["share"] != baseline["share"]
    elapsed = app.toggle("North Cray Children's Centre")
    app.wait_metric("share", f"{closed['share']:.1%}")
    assert app.metric("covered") == f"{closed['covered']:,.0f}"
    assert app.metric("losing") == f"{closed['children_losing']:,.0f}"
    app.page.locator(".geoplan-changes", has_text="Close cc-north-cray").wait_for(timeout=UPDATE_TIMEOUT_MS)
    print(f"\nclick on North Cray's open cell to new coverage figure in the page: {elapsed:.0f} ms")

    report = app.download("Committee report").decode("utf-8")
    assert report.lstrip().lower().startswith("<!doctype html>")
    assert f"{closed['covered']:,.0f}" in report

    plan = PlannerSession(resources).outreach()
    app.page.locator(".bk-tab", has_text="Outreach").click()
    note = app.page.locator(".geoplan-outreach", has_text=f"{len(plan.visits)} visits planned")
    note.wait_for(timeout=UPDATE_TIMEOUT_MS)
    for name in plan.visits["name"]:
        app.page.locator(".tabulator-row", has_text=name).first.wait_for(timeout=UPDATE_TIMEOUT_MS)
    app.assert_clean()


def test_moving_a_session_then_a_malformed_upload(app: AppPage, resources) -> None:
    moved = expected(resources, ("move_session", "north-cray-coffee-morning", "lib-thamesmead"))
    app.select("Session", "weekly coffee morning @ North Cray")
    app.select("Move to", "Thamesmead Library (The Nest)")
    app.click_button("Move session")
    move = "Move north-cray-coffee-morning from cc-north-cray to lib-thamesmead"
    app.page.locator(".geoplan-changes", has_text=move).wait_for(timeout=UPDATE_TIMEOUT_MS)
    app.wait_metric("session-covered", f"{moved['session_venues']['covered']:,.0f}")
    moved_option = app.page.get_by_label("Session", exact=True).locator("option", has_text="coffee morning @ Thamesmead")
    moved_option.wait_for(state="attached", timeout=UPDATE_TIMEOUT_MS)

    app.upload("broken.yaml", b"version: 1\nname: broken\ntitle: [unclosed\nchanges: []\n")
    error = app.page.locator(".geoplan-error")
    error.wait_for(timeout=UPDATE_TIMEOUT_MS)
    assert error.inner_text().startswith("broken.yaml, line 3")
    assert app.metric("session-covered") == f"{moved['session_venues']['covered']:,.0f}"  # the session is kept
    app.upload("unknown.yaml", b"version: 1\nname: unknown\ntitle: Unknown\nchanges:\n  - close: [nowhere]\n")
    app.page.locator(".geoplan-error", has_text="unknown venue id 'nowhere'").wait_for(timeout=UPDATE_TIMEOUT_MS)
    both = expected(resources, ("move_session", "north-cray-coffee-morning", "lib-thamesmead"),
                    ("toggle_venue", "cc-danson", False))  # fmt: skip
    app.toggle("Danson Children's Centre")
    app.wait_metric("share", f"{both['share']:.1%}")
    assert app.page.locator(".geoplan-error").count() == 0
    app.assert_clean()


def test_saved_scenario_loads_back_unchanged(browser, server, app: AppPage, resources) -> None:
    app.toggle("Northend Children's Centre")
    app.select("Session", "weekly coffee morning @ North Cray")
    app.select("Move to", "Thamesmead Library (The Nest)")
    app.click_button("Move session")
    app.page.locator(".geoplan-changes", has_text="Move north-cray-coffee-morning").wait_for(timeout=UPDATE_TIMEOUT_MS)
    saved = app.download("Save scenario")
    engine = PlannerSession(resources)
    engine.toggle_venue("cc-northend", False)
    engine.move_session("north-cray-coffee-morning", "lib-thamesmead")
    assert saved.decode("utf-8") == engine.to_scenario_yaml()

    fresh = AppPage(browser, server)
    try:
        fresh.upload("baseline-edited.yaml", saved)
        fresh.page.locator(".geoplan-changes", has_text="Close cc-northend").wait_for(timeout=UPDATE_TIMEOUT_MS)
        metrics = engine.metrics()
        fresh.wait_metric("share", f"{metrics['share']:.1%}")
        assert fresh.metric("session-covered") == f"{metrics['session_venues']['covered']:,.0f}"
        assert fresh.download("Save scenario") == saved
        fresh.assert_clean()
    finally:
        fresh.close()
    app.assert_clean()


def test_concurrent_sessions_do_not_see_each_other(browser, server, resources) -> None:
    edits = [
        *[("toggle_venue", centre, False) for centre in CENTRES],
        ("set_band", 10), ("set_band", 20),
        ("load_scenario", "bexley-2021-option2-one-centre"), ("load_scenario", "bexley-2021-before"),
    ]  # fmt: skip
    assert len(edits) >= CONCURRENT_SESSIONS
    names = resources.area.venues.set_index("venue_id")["name"]
    pages = [AppPage(browser, server, wait=False) for _ in edits]
    try:
        for page in pages:
            page.ready()
        for page, edit in zip(pages, edits, strict=True):
            if edit[0] == "toggle_venue":
                page.open_cell(names[edit[1]]).click()
            elif edit[0] == "set_band":
                page.select("Walking band (minutes)", str(edit[1]))
            else:
                page.select("Start from scenario", edit[1])
        for page, edit in zip(pages, edits, strict=True):
            mine = expected(resources, edit)
            page.wait_metric("covered", f"{mine['covered']:,.0f}")
            changes = page.page.locator(".geoplan-changes").inner_text()
            if edit[0] == "toggle_venue":
                assert f"Close {edit[1]}" in changes
                assert all(f"Close {other}" not in changes for other in CENTRES if other != edit[1])
            elif edit[0] == "set_band":
                assert "none (baseline programme)" in changes
                assert page.page.locator(".geoplan-metrics").get_attribute("data-band") == f"{edit[1]:g}"
            else:
                assert page.metric("scenario-name") == edit[1]
                assert changes.count("Redesignate") == len(resolve_scenario(edit[1]).changes) - changes.count("Move")
            page.assert_clean()
    finally:
        for page in pages:
            page.close()
