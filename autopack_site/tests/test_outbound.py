"""Outbound calls are pinned: every spelling of an internal address is refused, names are
resolved once and every answer must be public, the connection goes to the address that was
checked (no DNS rebinding), TLS still verifies the original name, and only the configured
origins are exempt. Real loopback listeners witness that nothing reached them."""

import datetime
import ipaddress
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from autopack_site import outbound
from autopack_site.outbound import RefusedTarget, check_outbound_url, outbound_client
from tests.listeners import Listener

PUBLIC = "93.184.216.34"


@pytest.fixture
def stranger():
    """A loopback listener that is not a configured origin: it must receive nothing."""
    with Listener() as listener:
        yield listener


def resolver(*answers_per_call):
    """A DNS stub: each call answers the next list (the last one repeats); calls are counted."""
    calls: list[str] = []

    def resolve(host, port):
        calls.append(host)
        answer = answers_per_call[min(len(calls), len(answers_per_call)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return list(answer)

    return resolve, calls


def spellings(port: int) -> list[str]:
    return [
        f"http://127.0.0.1:{port}/",
        f"http://[::1]:{port}/",
        f"http://2130706433:{port}/",  # decimal
        f"http://0x7f.0.0.1:{port}/",  # hex
        f"http://0177.0.0.1:{port}/",  # octal
        f"http://127.1:{port}/",  # short form
        f"http://localhost:{port}/",
        f"http://[::ffff:127.0.0.1]:{port}/",  # IPv4-mapped
        f"http://[::127.0.0.1]:{port}/",  # IPv4-compatible
        f"http://[2002:7f00:1::]:{port}/",  # 6to4 around 127.0.0.1
        f"http://[64:ff9b::7f00:1]:{port}/",  # NAT64 around 127.0.0.1
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://100.100.100.200/latest/meta-data/",  # Alibaba metadata, in 100.64.0.0/10
        "http://[fe80::1]/",
        "http://10.0.0.5/",
        "http://192.168.1.1/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
    ]


@pytest.mark.parametrize("index", range(len(spellings(0))))
def test_every_spelling_of_an_internal_address_is_refused_and_nothing_arrives(stranger, index):
    url = spellings(stranger.port)[index]
    # httpx itself refuses some spellings (0177.0.0.1) as invalid URLs: not sent either way
    with pytest.raises((RefusedTarget, httpx.InvalidURL)), outbound_client(timeout=2) as client:
        client.get(url)
    with pytest.raises(RefusedTarget):
        check_outbound_url(url)  # the early check, at proposal time, agrees
    assert stranger.received == []


def test_a_name_that_resolves_to_loopback_is_refused(stranger, monkeypatch):
    monkeypatch.setattr(outbound, "resolve", resolver(["127.0.0.1"])[0])
    check_outbound_url(f"http://innocent.example:{stranger.port}/")  # no DNS at proposal time
    with pytest.raises(RefusedTarget, match=r"127\.0\.0\.1"), outbound_client(timeout=2) as client:
        client.post(f"http://innocent.example:{stranger.port}/hook", content=b"{}")
    assert stranger.received == []


def test_one_internal_answer_among_public_ones_refuses_the_name(monkeypatch):
    monkeypatch.setattr(outbound, "resolve", resolver([PUBLIC, "169.254.169.254"])[0])
    with pytest.raises(RefusedTarget, match=r"169\.254\.169\.254"), outbound_client(timeout=2) as c:
        c.get("http://mixed.example/")


def test_a_name_that_does_not_resolve_is_refused(monkeypatch):
    monkeypatch.setattr(outbound, "resolve", resolver(socket.gaierror("no such name"))[0])
    with pytest.raises(RefusedTarget, match="does not resolve"), outbound_client(timeout=2) as c:
        c.get("https://nowhere.example/")


def test_the_connection_goes_to_the_checked_address_when_dns_rebinds(stranger, monkeypatch):
    """The stub answers a public address first and loopback afterwards: the request must go
    to the first answer, with the name kept for Host and TLS, and DNS asked only once."""
    resolve, calls = resolver([PUBLIC], ["127.0.0.1"])
    monkeypatch.setattr(outbound, "resolve", resolve)
    sent: list[httpx.Request] = []

    def network(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(204)

    url = f"https://rebind.example:{stranger.port}/hook"
    with outbound_client(timeout=2, transport=httpx.MockTransport(network)) as client:
        assert client.post(url, content=b"{}").status_code == 204
    assert calls == ["rebind.example"]
    assert sent[0].url.host == PUBLIC
    assert sent[0].headers["Host"] == f"rebind.example:{stranger.port}"
    assert sent[0].extensions["sni_hostname"] == "rebind.example"
    assert stranger.received == []


def test_only_the_configured_origin_is_exempt(settings, stranger):
    with Listener() as fake:
        settings.AUTOPACK_OUTBOUND_ALLOW = [fake.origin]
        with outbound_client(timeout=2) as client:
            assert client.post(f"{fake.url}/webhook/x", content=b"{}").status_code == 200
            with pytest.raises(RefusedTarget):
                client.post(f"{stranger.url}/webhook/x", content=b"{}")  # same host, other port
        check_outbound_url(f"{fake.url}/webhook/x")
        assert len(fake.received) == 1
    assert stranger.received == []


def test_a_callers_configured_base_url_is_exempt_for_that_call_only(stranger):
    with outbound_client(timeout=2, allow=(stranger.url,)) as client:
        assert client.get(f"{stranger.url}/v2/orders").status_code == 200
    with pytest.raises(RefusedTarget), outbound_client(timeout=2) as client:
        client.get(f"{stranger.url}/v2/orders")
    assert len(stranger.received) == 1


def test_non_http_schemes_are_refused():
    for url in ("ftp://example.com/x", "file:///etc/passwd", "gopher://example.com/"):
        with pytest.raises(RefusedTarget, match="http"):
            check_outbound_url(url)


def _certificate_for(name: str) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


def test_tls_to_the_pinned_address_still_verifies_the_original_name(tmp_path, monkeypatch):
    """A TLS server on loopback holds a certificate for pinned.example only. Resolution is
    stubbed to it (and loopback let through for this test): the call succeeds for
    pinned.example, whose name the server sees in SNI and Host, and fails for another name."""
    cert_pem, key_pem = _certificate_for("pinned.example")
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    (tmp_path / "key.pem").write_bytes(key_pem)
    seen: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen["host"] = self.headers["Host"]
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")

    def remember_sni(sock, name, context):
        seen["sni"] = name

    server_context.sni_callback = remember_sni
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    monkeypatch.setattr(outbound, "resolve", resolver(["127.0.0.1"])[0])
    monkeypatch.setattr(
        outbound,
        "address_refusal",
        lambda ip: None if ip == ipaddress.ip_address("127.0.0.1") else "refused",
    )
    trusting = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    try:
        inner = httpx.HTTPTransport(verify=trusting)
        with outbound_client(timeout=5, transport=inner) as client:
            assert client.get(f"https://pinned.example:{port}/").status_code == 200
            assert seen == {"sni": "pinned.example", "host": f"pinned.example:{port}"}
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                client.get(f"https://other.example:{port}/")
    finally:
        server.shutdown()
        server.server_close()


def test_a_malformed_allow_entry_fails_the_system_check(settings):
    from autopack_site.checks import check_outbound_allow

    settings.AUTOPACK_OUTBOUND_ALLOW = ["127.0.0.1:8765", "fake-without-a-port"]
    assert [error.id for error in check_outbound_allow(None)] == ["autopack.E004"]
