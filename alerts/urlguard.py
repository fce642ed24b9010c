"""Where a webhook may point: https only, and never at the service's own network (SSRF), unless allowed.

Checked when a webhook is registered and again before every delivery attempt (a host's DNS can change
after registration). `resolve_host` is the one DNS look-up, so tests can stand in for DNS.
"""

import ipaddress
import socket
from urllib.parse import urlsplit


class UrlNotAllowed(ValueError):
    """The URL may not receive webhooks; the message says why, in one line."""


def resolve_host(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to (IPv4 and IPv6)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def _forbidden(address: str) -> bool:
    """Not a public unicast address: loopback, private, link-local, shared (CGNAT), reserved, multicast..."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def webhook_url_check(url: str, *, allow_http: bool, allow_private: bool) -> None:
    """Raise UrlNotAllowed unless `url` may receive webhooks.

    - scheme `https` (or `http` when `allow_http`), a host, no user:password part;
    - unless `allow_private`: every address the host resolves to is public (not loopback, private, link-local,
      multicast, reserved or otherwise not global), and the host resolves.
    """
    parts = urlsplit(url)
    schemes = {"https", "http"} if allow_http else {"https"}
    if parts.scheme not in schemes:
        raise UrlNotAllowed("Must be an https URL." if not allow_http else "Must be an http or https URL.")
    if not parts.hostname:
        raise UrlNotAllowed("Must name a host.")
    if parts.username or parts.password:
        raise UrlNotAllowed("Must not carry credentials.")
    if allow_private:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UrlNotAllowed("Has an invalid port.") from None
    try:
        addresses = resolve_host(parts.hostname, port)
    except (OSError, UnicodeError):
        raise UrlNotAllowed(f"The host {parts.hostname} does not resolve.") from None
    if not addresses:
        raise UrlNotAllowed(f"The host {parts.hostname} does not resolve.")
    for address in addresses:
        if _forbidden(address):
            raise UrlNotAllowed(f"The host {parts.hostname} resolves to a non-public address ({address}).")
