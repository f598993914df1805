"""Which webhook URLs are refused: private, loopback and link-local targets, over IPv4 and IPv6, by name or address."""

from __future__ import annotations

import pytest

from hr.webhook_targets import TargetPolicy, TargetRefusedError, TargetUnresolvedError, check_target


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://localhost/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        ("http://10.20.30.40/hook", "private"),
        ("http://172.16.0.1/hook", "private"),
        ("https://192.168.1.10/hook", "private"),
        ("http://[fd12:3456::1]/hook", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fe80::1]/hook", "link-local"),
        ("http://0.0.0.0/hook", "not a unicast public"),
        ("http://100.64.0.1/hook", "not a public"),
        ("http://224.0.0.1/hook", "not a unicast public"),
        ("http://[::]/hook", "not a unicast public"),
        ("http://[ff02::1]/hook", "not a unicast public"),
    ],
)
async def test_internal_addresses_are_refused_by_default(url: str, why: str) -> None:
    with pytest.raises(TargetRefusedError, match=why):
        await check_target(url, TargetPolicy())


@pytest.mark.parametrize("url", ["https://93.184.216.34/hook", "http://[2606:4700:4700::1111]:8443/hook"])
async def test_public_addresses_are_allowed(url: str) -> None:
    await check_target(url, TargetPolicy())


@pytest.mark.parametrize(
    "url", ["ftp://93.184.216.34/hook", "file:///etc/passwd", "https:///hook", "http://1.1.1.1:x/"]
)
async def test_urls_that_are_not_http_to_a_host_are_refused(url: str) -> None:
    with pytest.raises(TargetRefusedError):
        await check_target(url, TargetPolicy())


async def test_each_allow_setting_opens_only_its_own_range() -> None:
    await check_target("http://localhost:9000/hook", TargetPolicy(allow_loopback=True))
    await check_target("http://10.0.0.5/hook", TargetPolicy(allow_private=True))
    await check_target("http://[fe80::1]/hook", TargetPolicy(allow_link_local=True))
    with pytest.raises(TargetRefusedError, match="private"):
        await check_target("http://10.0.0.5/hook", TargetPolicy(allow_loopback=True))
    with pytest.raises(TargetRefusedError, match="link-local"):
        await check_target("http://169.254.169.254/", TargetPolicy(allow_private=True))


async def test_a_host_that_does_not_resolve_is_a_retryable_error_not_a_refusal() -> None:
    with pytest.raises(TargetUnresolvedError, match="does not resolve"):
        await check_target("https://no-such-host.invalid/hook", TargetPolicy())
