"""Every HTTP call the platform makes to a URL (webhook targets and approval callbacks that agents
choose, providers' APIs and token endpoints, future policy-page fetches) goes through
``outbound_client``: the host is resolved once, the call is refused unless every address is
globally routable, and the connection goes to the address that was checked — no second
resolution, so a name cannot rebind to an internal address between the check and the connect.

The only exceptions are origins (``host:port``) an operator configured: the
AUTOPACK_OUTBOUND_ALLOW setting and, passed by the caller, a provider's configured base URL.
``check_outbound_url`` is the early check at proposal time (no DNS: literal addresses in every
spelling and local names); the decision that counts is taken when the call is made."""

import functools
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from typing import Annotated
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from pydantic import AfterValidator, Field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
DEFAULT_PORTS = {"http": 80, "https": 443}
LOCAL_NAMES = ("localhost", ".localhost", ".local", ".internal", ".home.arpa")
# IPv6 forms that carry an IPv4 address inside them (judged by the IPv4 they carry).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated; never a real destination


class RefusedTarget(ValueError):
    """A URL the platform will not call. A ValueError, so in a pydantic validator it becomes a
    422 on the field."""


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as an IP literal means, in every spelling the C resolver
    accepts (``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``); None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in network for network in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_refusal(ip: IPAddress) -> str | None:
    """Why the platform will not connect to ``ip``, or None when it is globally routable."""
    if ip.is_multicast or not ip.is_global:
        return f"{ip} is not a globally routable address"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _IPV4_COMPATIBLE:
            return f"{ip} is an IPv4-compatible IPv6 address"
        inner = _embedded_ipv4(ip)
        if inner is not None and (inner.is_multicast or not inner.is_global):
            return f"{ip} carries {inner}, which is not a globally routable address"
    return None


def _host_key(host: str) -> str:
    address = literal_address(host)
    return str(address) if address is not None else host.lower().rstrip(".")


def _target(url: str | httpx.URL) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, or RefusedTarget."""
    parsed = httpx.URL(url) if isinstance(url, str) else url
    scheme, host = parsed.scheme, parsed.host
    if scheme not in DEFAULT_PORTS or not host:
        raise RefusedTarget("only http(s) URLs with a host are allowed")
    return scheme, host, parsed.port or DEFAULT_PORTS[scheme]


def allowed_origin(entry: str) -> tuple[str, int]:
    """``host:port`` or a URL → the (host key, port) it allows."""
    if "://" in entry:
        _scheme, host, port = _target(entry)
        return _host_key(host), port
    parts = urlsplit(f"//{entry}")
    if not parts.hostname or parts.port is None:
        raise ImproperlyConfigured(f"AUTOPACK_OUTBOUND_ALLOW entries are host:port, got {entry!r}")
    return _host_key(parts.hostname), parts.port


def _allowed(host: str, port: int, extra: Iterable[str]) -> bool:
    entries = (*settings.AUTOPACK_OUTBOUND_ALLOW, *(entry for entry in extra if entry))
    return (_host_key(host), port) in {allowed_origin(entry) for entry in entries}


def check_outbound_url(url: str, *, allow: Iterable[str] = ()) -> None:
    """The early check, without DNS: raises RefusedTarget for a URL that is not http(s), names a
    local host, or is an address (in any spelling) that is not globally routable."""
    try:
        _scheme, host, port = _target(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise RefusedTarget(str(exc) or "not a URL") from None
    if _allowed(host, port, allow):
        return
    key = _host_key(host)
    if key == LOCAL_NAMES[0] or key.endswith(LOCAL_NAMES[1:]):
        raise RefusedTarget(f"{host} is a local name")
    address = literal_address(host)
    if address is not None and (reason := address_refusal(address)):
        raise RefusedTarget(reason)


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the tests replace this to simulate DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def pinned_address(host: str, port: int) -> str:
    """Resolves ``host`` once and returns the address to connect to; RefusedTarget when the
    name does not resolve or ANY of its addresses is not globally routable."""
    try:
        answers = resolve(host, port)
    except (OSError, UnicodeError):
        raise RefusedTarget(f"{host} does not resolve") from None
    if not answers:
        raise RefusedTarget(f"{host} does not resolve")
    addresses = [ipaddress.ip_address(answer.split("%", 1)[0]) for answer in answers]
    for address in addresses:
        if reason := address_refusal(address):
            raise RefusedTarget(f"{host} resolves to {address}: {reason}")
    return str(addresses[0])


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default certificate checks (certifi's CA bundle, hostnames verified), built once
    per process: loading the bundle cost a worker ~14 ms per provider call, more than the call.
    An SSLContext is safe to share between threads and connections."""
    return httpx.create_ssl_context(trust_env=False)


class PinnedTransport(httpx.BaseTransport):
    """Checks each request's target and sends it to the address that was checked. The URL is
    rewritten to that address while the Host header and TLS (SNI and certificate checks, via
    httpcore's ``sni_hostname``) keep the original name; one inner transport per name, so a
    pooled TLS connection is never reused for another name that shares an address."""

    def __init__(self, *, allow: Iterable[str] = (), inner: httpx.BaseTransport | None = None):
        self._allow = tuple(allow)
        self._given_inner = inner
        self._inners: dict[str, httpx.BaseTransport] = {}

    def _inner(self, host: str) -> httpx.BaseTransport:
        if self._given_inner is not None:
            return self._given_inner
        if host not in self._inners:
            self._inners[host] = httpx.HTTPTransport(trust_env=False, verify=tls_context())
        return self._inners[host]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        _scheme, host, port = _target(request.url)
        if not _allowed(host, port, self._allow):
            request.url = request.url.copy_with(host=pinned_address(host, port))
            request.extensions = {**request.extensions, "sni_hostname": host}
        return self._inner(host).handle_request(request)

    def close(self) -> None:
        for inner in {*self._inners.values(), self._given_inner} - {None}:
            inner.close()


def outbound_client(
    *, timeout: float, allow: Iterable[str] = (), transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """An httpx client whose every request is pinned. ``allow``: configured URLs (or
    ``host:port``) the caller trusts besides AUTOPACK_OUTBOUND_ALLOW; ``transport``: what
    finally sends (the tests give a MockTransport for remote services)."""
    # trust_env=False: a proxy from the environment would resolve the name itself.
    return httpx.Client(
        timeout=timeout,
        transport=PinnedTransport(allow=allow, inner=transport),
        follow_redirects=False,
        trust_env=False,
    )


def _public_url(url: str) -> str:
    if url:
        check_outbound_url(url)
    return url


# The callback URL agents may give with a proposal or a patch: empty, or a public http(s) URL.
CallbackURL = Annotated[
    str, Field(max_length=1000, pattern=r"^(https?://\S+)?$"), AfterValidator(_public_url)
]
