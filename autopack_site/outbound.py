"""Outbound URLs that agents choose (webhook targets, callback URLs) must not reach into our own
network: loopback, private, link-local (cloud metadata) and reserved addresses are refused unless
AUTOPACK_ALLOW_PRIVATE_OUTBOUND is on (the local demo and the tests, which use a loopback fake)."""

import ipaddress
import socket
from urllib.parse import urlsplit

from autopack_site.env import env_bool


class UnsafeURL(ValueError):
    pass


def _private(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def check_outbound_url(url: str, *, resolve: bool = False) -> None:
    """Raises UnsafeURL for a non-http(s) URL or one that points into a private network.
    ``resolve`` also checks what the host name resolves to (at send time)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeURL("only http(s) URLs with a host are allowed")
    if env_bool("AUTOPACK_ALLOW_PRIVATE_OUTBOUND", False):
        return
    host = parts.hostname
    if host == "localhost" or host.endswith((".localhost", ".internal", ".local")):
        raise UnsafeURL(f"{host} is a private host")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass  # a name, not a literal address
    else:
        if _private(host):
            raise UnsafeURL(f"{host} is a private address")
        return
    if resolve:
        try:
            infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
        except OSError:
            return  # unresolvable: the call will fail as "not sent"
        for info in infos:
            if _private(info[4][0]):
                raise UnsafeURL(f"{host} resolves to a private address")
