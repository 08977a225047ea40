"""Call the address that was checked: close the DNS-rebinding gap between check and connect.

`app.netguard.check_url` resolves a URL's host and vets every address; if the HTTP client
then resolved the name again, a hostile DNS server could answer a private address the second
time. `pinned` rewrites the URL to the first checked address and keeps the name where it
matters: the `Host` header and, for https, the TLS server name (SNI and certificate check,
through httpcore's `sni_hostname` request extension).
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from app.netguard import IPAddress


def pinned(url: str, addresses: list[IPAddress]) -> tuple[str, dict[str, str], dict[str, Any]]:
    """Return the URL on `addresses[0]`, the Host header to send, and the request extensions."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
        return url, {}, {}  # an IP literal: nothing to resolve again
    except ValueError:
        pass
    ip = addresses[0]
    userinfo, _, hostport = parts.netloc.rpartition("@")
    address = f"[{ip}]" if ip.version == 6 else str(ip)
    netloc = address + (f":{parts.port}" if parts.port else "")
    if userinfo:
        netloc = f"{userinfo}@{netloc}"
    target = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    extensions: dict[str, Any] = {"sni_hostname": host} if parts.scheme == "https" else {}
    return target, {"Host": hostport}, extensions
