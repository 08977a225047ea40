"""Outbound URLs that users configure: refuse loopback, private and link-local targets (SSRF).

Check a URL when it is saved and again just before every call (the name may resolve
elsewhere by then: DNS rebinding). Every address the host resolves to must be public.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from app.errors import Invalid

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedTarget(Invalid):
    """The URL points at an address PageFree must not call (or is not a URL it may call)."""


def is_public(ip: IPAddress) -> bool:
    """Return whether `ip` is a public unicast address (not loopback/private/link-local/…)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Return every address `host` resolves to (an IP literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


def _target(url: str, field: str, schemes: tuple[str, ...]) -> tuple[str, int]:
    """Return the host and port of `url`, or raise BlockedTarget naming `field`."""
    parts = urlsplit(url)
    if parts.scheme not in schemes:
        raise _blocked(field, f"the URL must use {' or '.join(schemes)}")
    if not parts.hostname:
        raise _blocked(field, "the URL has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise _blocked(field, "the URL's port is not valid") from None
    return parts.hostname, port


def _blocked(field: str, message: str) -> BlockedTarget:
    return BlockedTarget(message, errors=[{"field": field, "message": message}])


def _verdict(addresses: list[IPAddress], field: str, allow_private: bool) -> list[IPAddress]:
    if not addresses:
        raise _blocked(field, "the URL's host does not resolve")
    if not allow_private and not all(is_public(ip) for ip in addresses):
        raise _blocked(field, "the URL points at a loopback, private or link-local address")
    return addresses


async def check_url(
    url: str,
    *,
    field: str = "url",
    schemes: tuple[str, ...] = ("https",),
    allow_private: bool = False,
) -> list[IPAddress]:
    """Return the public addresses of `url`'s host, or raise BlockedTarget naming `field`."""
    host, port = _target(url, field, schemes)
    try:
        addresses = await resolve(host, port)
    except OSError:
        raise _blocked(field, "the URL's host does not resolve") from None
    return _verdict(addresses, field, allow_private)


def resolve_blocking(host: str, port: int) -> list[IPAddress]:
    """Return every address `host` resolves to, for code that runs in a worker thread."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


def check_url_blocking(
    url: str,
    *,
    field: str = "url",
    schemes: tuple[str, ...] = ("https",),
    allow_private: bool = False,
) -> list[IPAddress]:
    """Like `check_url`, for blocking SDK calls made in a thread (checked right before each)."""
    host, port = _target(url, field, schemes)
    try:
        addresses = resolve_blocking(host, port)
    except OSError:
        raise _blocked(field, "the URL's host does not resolve") from None
    return _verdict(addresses, field, allow_private)
