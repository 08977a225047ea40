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


async def check_url(
    url: str,
    *,
    field: str = "url",
    schemes: tuple[str, ...] = ("https",),
    allow_private: bool = False,
) -> list[IPAddress]:
    """Return the public addresses of `url`'s host, or raise BlockedTarget naming `field`."""

    def blocked(message: str) -> BlockedTarget:
        return BlockedTarget(message, errors=[{"field": field, "message": message}])

    parts = urlsplit(url)
    if parts.scheme not in schemes:
        raise blocked(f"the URL must use {' or '.join(schemes)}")
    if not parts.hostname:
        raise blocked("the URL has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise blocked("the URL's port is not valid") from None
    try:
        addresses = await resolve(parts.hostname, port)
    except OSError:
        raise blocked("the URL's host does not resolve") from None
    if not addresses:
        raise blocked("the URL's host does not resolve")
    if not allow_private and not all(is_public(ip) for ip in addresses):
        raise blocked("the URL points at a loopback, private or link-local address")
    return addresses
