"""The live dashboard in a real browser (Debian's chromium, headless) while events flow.

The page is opened from the URL `eventstream local up` prints, with a real API key in the
fragment; a thread publishes through the gateway meanwhile. Screenshots go to the test's tmp
dir; EVENTSTREAM_UPDATE_SCREENSHOTS=1 also copies the one of the live page to docs/dashboard.png.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, sync_playwright

from tests.support import ADMIN_PASSWORD, PROJECT_DIR, RunningCloud

SCREENSHOT_ENV = "EVENTSTREAM_UPDATE_SCREENSHOTS"
WAIT_S = 15.0  # for the page to show what the API has: a few one-second polls, generously
NUMBERS = ("eps-1s", "eps-1m", "p50", "p99", "queue-depth", "events-total")


def _login(api: httpx.Client, username: str, password: str) -> dict[str, str]:
    r = api.post("/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@dataclass
class Setup:
    dashboard_url: str
    api_key: str
    topic: str
    publisher: dict[str, str]  # bearer headers of a user who may publish to `topic`


@pytest.fixture(scope="module")
def setup(cloud: RunningCloud) -> Setup:
    line = cloud.wait_for_line(r"^\s+dashboard\s+http://\S+/dashboard$")
    with httpx.Client(base_url=cloud.api_url, timeout=60.0) as api:
        admin = _login(api, "admin", ADMIN_PASSWORD)
        key = api.post("/auth/api-keys", headers=admin, json={"name": "dashboard-e2e"})
        assert key.status_code == 201, key.text
        # A user of its own, so this test's publishing never spends another test's rate limit.
        name = f"dash{uuid.uuid4().hex[:8]}"
        password = f"{name}-long-passphrase"
        user = api.post("/auth/users", headers=admin, json={"username": name, "password": password})
        assert user.status_code == 201, user.text
        uid = user.json()["id"]
        topic = f"dash/{name}"
        grant = {"user_id": uid, "topic_pattern": "dash/*", "permission": "publish"}
        assert api.post("/auth/acl/grant", headers=admin, json=grant).status_code == 201
        limit = {"rate_limit_per_minute": 1_000_000}
        assert api.patch(f"/auth/users/{uid}", headers=admin, json=limit).status_code == 200
        publisher = _login(api, name, password)
    return Setup(line.split()[-1], key.json()["key"], topic, publisher)


@pytest.fixture(scope="module")
def browser(chromium_binary: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        # executable_path: the system's chromium; Playwright's own browser builds never download.
        browser = playwright.chromium.launch(executable_path=chromium_binary, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watched:
    page: Page
    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)  # console errors and uncaught exceptions


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
    page = context.new_page()
    seen = Watched(page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            seen.console.append(message.text)

    def on_request(request: Request) -> None:
        seen.requests.append(request.url)

    page.on("console", on_console)
    page.on("pageerror", lambda error: seen.console.append(f"uncaught: {error}"))
    page.on("request", on_request)
    try:
        yield seen
    finally:
        context.close()


class Publisher(threading.Thread):
    """POSTs events to one topic until stopped, counting the ones the API accepted (201)."""

    def __init__(self, api_url: str, headers: dict[str, str], topic: str) -> None:
        super().__init__(daemon=True)
        self.api_url, self.headers, self.topic = api_url, headers, topic
        self.stopping = threading.Event()
        self.accepted = 0
        self.refused: list[tuple[int, str]] = []

    def run(self) -> None:
        with httpx.Client(base_url=self.api_url, timeout=30.0, headers=self.headers) as api:
            i = 0
            while not self.stopping.is_set():
                body = {"topic": self.topic, "payload": {"i": i, "celsius": 20 + i % 7}}
                r = api.post("/v1/events", json=body)
                if r.status_code == 201:
                    self.accepted += 1
                else:
                    self.refused.append((r.status_code, r.text[:200]))
                i += 1
                # ~40/s at most: leave the 2 CPUs to the cloud and the browser.
                self.stopping.wait(0.025)

    def __enter__(self) -> Publisher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.join(timeout=60)


def number(text: str | None) -> float | None:
    """A number as the page writes it (en-US grouping); None for the page's "—"."""
    cleaned = (text or "").replace(",", "").strip()
    return float(cleaned) if re.fullmatch(r"-?\d+(\.\d+)?", cleaned) else None


def read(page: Page) -> dict[str, Any]:
    """What a person sees on the page, as numbers where the page shows numbers."""
    out: dict[str, Any] = {name: number(page.text_content(f"#{name}")) for name in NUMBERS}
    out["status"] = (page.get_attribute("#status", "data-state"), page.text_content("#status"))
    out["updated"] = page.get_attribute("#updated", "datetime")
    topics = {}
    for row in page.query_selector_all("#topics tbody tr[data-topic]"):
        cells = [c.text_content() for c in row.query_selector_all("td")]
        topics[row.get_attribute("data-topic")] = {
            "rate": number(cells[1]),
            "count": number(cells[2]),
        }
    out["topics"] = topics
    out["errors"] = {
        row.get_attribute("data-error")
        for row in page.query_selector_all("#errors tbody tr[data-error]")
    }
    out["nodes"] = len(page.query_selector_all("#nodes tbody tr[data-node]"))
    return out


def wait_until(page: Page, ok: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    seen = read(page)
    while not ok(seen):
        assert time.monotonic() < deadline, f"the page never showed {what}; last seen: {seen}"
        page.wait_for_timeout(200)
        seen = read(page)
    return seen


def sparkline_pixels(page: Page) -> int:
    return int(
        page.evaluate(
            """() => {
                const c = document.getElementById("spark");
                const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
                let painted = 0;
                for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
                return painted;
            }"""
        )
    )


def test_the_local_cloud_prints_and_serves_the_page(cloud: RunningCloud, setup: Setup) -> None:
    assert setup.dashboard_url == f"{cloud.api_url}/dashboard"
    r = httpx.get(setup.dashboard_url)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert '<canvas id="spark"' in r.text


def test_the_page_shows_live_numbers_while_events_flow(
    cloud: RunningCloud, setup: Setup, watched: Watched, tmp_path: Path
) -> None:
    page = watched.page
    console_mark = len(cloud.lines)
    page.goto(f"{setup.dashboard_url}#key={setup.api_key}")
    # The key left the URL for sessionStorage, and it was never sent in one.
    assert "key=" not in page.url
    assert page.evaluate("() => sessionStorage.length") == 1
    first = wait_until(page, lambda s: s["status"][0] == "ok", "the live state")
    assert first["nodes"] >= 1

    with Publisher(cloud.api_url, setup.publisher, setup.topic) as publisher:
        flowing = wait_until(
            page,
            lambda s: (
                (s["eps-1s"] or 0) > 0
                and (s["events-total"] or 0) > (first["events-total"] or 0)
                and (s["topics"].get(setup.topic, {}).get("rate") or 0) > 0
            ),
            f"throughput, a growing total and a rate for {setup.topic}",
        )
        assert flowing["updated"] != first["updated"]
        later = wait_until(
            page,
            lambda s: (
                (s["events-total"] or 0) > (flowing["events-total"] or 0)
                and s["updated"] != flowing["updated"]
            ),
            "the total growing on a later refresh",
        )
        assert later["p50"] is not None
        assert later["p99"] is not None
        assert later["p99"] >= later["p50"]
        assert later["queue-depth"] is not None
        assert sparkline_pixels(page) > 0
        page.screenshot(path=tmp_path / "dashboard.png", full_page=True)
    assert publisher.accepted > 0, publisher.refused[:3]
    assert not publisher.refused, publisher.refused[:3]

    # Every acked event is committed and counted: the row settles on exactly what was accepted.
    settled = wait_until(
        page,
        lambda s: s["topics"].get(setup.topic, {}).get("count") == publisher.accepted,
        f"{publisher.accepted} events on {setup.topic}",
    )
    stats = httpx.get(
        f"{cloud.api_url}/v1/stats/realtime", headers={"X-Api-Key": setup.api_key}
    ).json()
    assert settled["errors"] <= set(stats["summary"]["errors"])
    assert settled["nodes"] == stats["summary"]["nodes_total"]

    assert (tmp_path / "dashboard.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get(SCREENSHOT_ENV) == "1":
        shutil.copyfile(tmp_path / "dashboard.png", PROJECT_DIR / "docs" / "dashboard.png")

    # Nothing but the page and its API was loaded; nothing complained (a CSP block would).
    assert all(url.startswith(f"{cloud.api_url}/") for url in watched.requests), watched.requests
    assert {u.split("#")[0] for u in watched.requests} <= {
        setup.dashboard_url,
        f"{cloud.api_url}/v1/stats/realtime",
    }
    assert watched.console == []
    # The key travelled in a header only: no log line of the gateway or a function holds it.
    assert not [line for line in cloud.output_since(console_mark) if setup.api_key in line]


def test_a_refused_key_shows_an_error(setup: Setup, watched: Watched, tmp_path: Path) -> None:
    page = watched.page
    page.goto(f"{setup.dashboard_url}#key=esk_not-a-key-{uuid.uuid4().hex}")
    seen = wait_until(page, lambda s: s["status"][0] == "error", "the error state")
    assert "API key refused" in seen["status"][1]
    assert seen["events-total"] is None  # nothing is shown as if it were live
    page.screenshot(path=tmp_path / "refused.png")


def test_an_unreachable_api_shows_an_error_then_recovers(setup: Setup, watched: Watched) -> None:
    page = watched.page
    page.goto(f"{setup.dashboard_url}#key={setup.api_key}")
    wait_until(page, lambda s: s["status"][0] == "ok", "the live state")
    page.context.set_offline(True)
    down = wait_until(page, lambda s: s["status"][0] == "error", "the error state")
    assert "unreachable" in down["status"][1]
    assert "stale" in (page.get_attribute("body", "class") or "")
    page.context.set_offline(False)
    wait_until(page, lambda s: s["status"][0] == "ok", "the live state again")
    assert "stale" not in (page.get_attribute("body", "class") or "")
