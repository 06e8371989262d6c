"""/docs and /redoc work with no network: Swagger UI and ReDoc are served by the app itself."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fraudwatch.api import create_app
from fraudwatch.pipeline.service import ScoringService
from fraudwatch.sources.feed_publisher import FeedPublisher
from fraudwatch.sources.feed_server import create_app as create_feed_app
from tests.api.conftest import API_KEY
from tests.dashboard.test_browser import CHROMIUM_ARGS, chromium  # noqa: F401  (fixture)
from tests.servers import serving


class _Assets(HTMLParser):
    """Scripts, styles and icons a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        url = values.get("src") if tag == "script" else values.get("href")
        if tag in ("script", "link") and url:
            self.urls.append(url)


def _scoring_app(service: ScoringService) -> FastAPI:
    return create_app(service, api_keys=[API_KEY])


@pytest.fixture(params=["scoring-api", "feed"])
def docs_app(request: pytest.FixtureRequest) -> FastAPI:
    """The two FastAPI apps we serve: the scoring API and the live feed."""
    if request.param == "feed":
        return create_feed_app(FeedPublisher(iter([]), rate=1.0))
    return _scoring_app(request.getfixturevalue("service"))


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_doc_pages_load_nothing_from_outside_the_app(docs_app: FastAPI, page: str) -> None:
    with TestClient(docs_app) as client:  # no API key: the docs are open
        html = client.get(page)
        assert html.status_code == 200
        assert not re.findall(r"https?://", html.text), "the page names an outside address"
        parser = _Assets()
        parser.feed(html.text)
        scripts = [url for url in parser.urls if url.endswith(".js")]
        assert len(scripts) == 1 and len(parser.urls) >= 2
        for url in parser.urls:
            asset = client.get(url)
            assert asset.status_code == 200, url
            assert len(asset.content) > 1000, url
        assert client.get("/openapi.json").status_code == 200


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served_api(service: ScoringService) -> Iterator[str]:
    """The scoring API on a real port, for a browser."""
    with serving(_scoring_app(service)) as url:
        yield url


@pytest.mark.integration
def test_swagger_ui_and_redoc_render_in_a_browser_without_network(
    chromium: Path,  # noqa: F811
    served_api: str,
) -> None:
    from playwright.sync_api import Route, expect, sync_playwright

    outside: list[tuple[str, str]] = []

    def only_the_app(route: Route) -> None:
        if route.request.url.startswith(served_api):
            route.continue_()
        else:  # no network: anything else fails, as on an offline machine
            outside.append((route.request.resource_type, route.request.url))
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", only_the_app)
            page.goto(f"{served_api}/docs")
            operation = page.locator(".opblock-post", has_text="/v1/score")
            expect(operation.first).to_be_visible(timeout=30_000)
            expect(
                page.locator(".opblock-summary-path", has_text="/v1/score/batch")
            ).to_be_visible()
            page.goto(f"{served_api}/redoc")
            heading = page.get_by_role("heading", name="Score a batch of transactions")
            expect(heading).to_be_visible(timeout=30_000)
        finally:
            browser.close()
    # ReDoc's bundle links its own "API docs by Redocly" logo image; nothing else leaves
    assert [kind for kind, _ in outside if kind != "image"] == [], outside
