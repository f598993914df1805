"""Which URLs a webhook may be sent to: http(s) only, and never a private, loopback or link-local address.

The host is resolved and every address it gives is checked (IPv4 and IPv6), so a name pointing inside the
network is refused like the bare address; deployments that deliver inside their own network opt in per range.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class TargetPolicy:
    """What a deployment lets webhooks reach besides the public internet; everything is refused by default."""

    allow_loopback: bool = False
    allow_private: bool = False
    allow_link_local: bool = False


class TargetRefusedError(ValueError):
    """A webhook URL the policy does not let the server call; the message says why, for the person who set it."""


class TargetUnresolvedError(OSError):
    """The host has no address right now: a delivery retries, a registration says so."""


def address_refusal(address: IPAddress, policy: TargetPolicy) -> str | None:
    """Why this address may not be called, or None when it may."""
    # ::ffff:10.0.0.1 reaches 10.0.0.1: judge the IPv4 address inside.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    # 0.0.0.0 and :: reach this machine; a multicast group is no receiver.
    if address.is_unspecified or address.is_multicast:
        return f"{address} is not a unicast public address"
    if address.is_loopback:
        return None if policy.allow_loopback else f"{address} is a loopback address"
    if address.is_link_local:
        return None if policy.allow_link_local else f"{address} is a link-local address"
    if address.is_private:
        return None if policy.allow_private else f"{address} is a private address"
    # Reserved, shared (100.64/10), documentation and benchmarking space: not on the internet either.
    if address.is_reserved or not address.is_global:
        return f"{address} is not a public address"
    return None


def _host(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise TargetRefusedError(f"a webhook URL is http or https, not {parts.scheme or 'missing'!r}")
    if not parts.hostname:
        raise TargetRefusedError("a webhook URL names a host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise TargetRefusedError(f"the webhook URL's port is not a number: {url}") from exc
    return parts.hostname, port


async def _addresses(host: str, port: int) -> list[IPAddress]:
    try:
        # An address in the URL needs no lookup (and no executor thread per delivery).
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TargetUnresolvedError(f"the webhook host {host!r} does not resolve") from exc
    # The scope of fe80::1%eth0 is not part of the address.
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


async def check_target(url: str, policy: TargetPolicy) -> None:
    """Raise TargetRefusedError unless every address the URL's host resolves to is allowed.

    Raises TargetUnresolvedError when the host does not resolve."""
    host, port = _host(url)
    for address in await _addresses(host, port):
        refusal = address_refusal(address, policy)
        if refusal is not None:
            raise TargetRefusedError(f"webhooks may not be sent to {host}: {refusal}")
