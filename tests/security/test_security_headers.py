"""Issue 14, Low: every answer carries the security headers (CSP without inline script, no framing, nosniff, no
referrer, a permissions policy; HSTS only behind TLS), and the public /health says only ok or degraded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from security_testkit import InProcessServer, hr, start_in_process

PAGES = ("/hr/", "/join/some-id", "/hr/observe/some-id", "/hr/report/some-id", "/static/js/observe.js", "/health")


@pytest.fixture(scope="module")
async def servers(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[InProcessServer, InProcessServer]]:
    plain = await start_in_process(tmp_path_factory.mktemp("plain"))
    tls = await start_in_process(tmp_path_factory.mktemp("tls"), behind_tls=True)
    yield plain, tls
    await plain.stop()
    await tls.stop()


async def _get(base: str, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base) as c:
        return await c.get(path, headers=headers)


def _directives(csp: str) -> dict[str, str]:
    return {d.strip().split(" ", 1)[0]: d.strip().partition(" ")[2] for d in csp.split(";") if d.strip()}


@pytest.mark.parametrize("path", PAGES)
async def test_pages_scripts_and_api_carry_a_csp_without_inline_script(
    servers: tuple[InProcessServer, InProcessServer], path: str
) -> None:
    r = await _get(servers[0].base, path)
    csp = _directives(r.headers["content-security-policy"])
    assert csp["script-src"] == "'self'", "no inline script, no eval, no other origin"
    assert "unsafe-inline" not in csp.get("default-src", "") and csp["object-src"] == "'none'"
    assert csp["frame-ancestors"] == "'none'"


@pytest.mark.parametrize("path", PAGES)
async def test_nosniff_referrer_framing_and_permissions(
    servers: tuple[InProcessServer, InProcessServer], path: str
) -> None:
    r = await _get(servers[0].base, path)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer", "candidate pages carry their token in the URL"
    assert r.headers["x-frame-options"] == "DENY"
    permissions = r.headers["permissions-policy"]
    assert "microphone=(self)" in permissions and "camera=(self)" in permissions and "geolocation=()" in permissions


async def test_hsts_only_behind_tls(servers: tuple[InProcessServer, InProcessServer]) -> None:
    plain, tls = servers
    assert "strict-transport-security" not in (await _get(plain.base, "/hr/")).headers
    assert (await _get(tls.base, "/hr/")).headers["strict-transport-security"].startswith("max-age=31536000")


async def test_errors_carry_the_headers_too(servers: tuple[InProcessServer, InProcessServer]) -> None:
    r = await _get(servers[0].base, "/v1/jobs")  # 401 without the key
    assert r.status_code == 401 and r.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" in r.headers


async def test_the_openapi_viewer_keeps_working_without_a_csp(servers: tuple[InProcessServer, InProcessServer]) -> None:
    # Its viewers load scripts from a CDN and run inline code; every other header still applies.
    r = await _get(servers[0].base, "/schema/openapi.json")
    assert r.status_code == 200 and "content-security-policy" not in r.headers
    assert r.headers["x-content-type-options"] == "nosniff"


async def test_public_health_says_only_ok_or_degraded(servers: tuple[InProcessServer, InProcessServer]) -> None:
    base = servers[0].base
    assert (await _get(base, "/health")).json() == {"status": "ok"}
    assert (await _get(base, "/health", hr("wrong-key"))).json() == {"status": "ok"}
    detailed = (await _get(base, "/health", hr())).json()
    assert detailed["status"] == "ok" and {"bus", "live_sessions", "models"} <= detailed.keys()


def test_no_page_has_inline_script_or_handlers() -> None:
    """The CSP forbids inline script: a page that had some would silently stop working."""
    web = Path(__file__).resolve().parents[2] / "web_client"
    for page in web.glob("*.html"):
        html = page.read_text()
        # Every script is a file served from /static/ (a module, or a vendored library such as Chart.js).
        served = html.count('<script type="module" src="/static/') + html.count('<script src="/static/vendor/')
        assert html.count("<script") == served, page.name
        assert " onclick=" not in html and " onload=" not in html and "javascript:" not in html, page.name
