import pytest

from autopack_site.redaction import MASK, contains_credential, redact, redact_headers, scrub


@pytest.mark.parametrize(
    "key", ["Authorization", "X-API-Key", "x_api_key", "client_secret", "Refresh-Token", "PASSWORD"]
)
def test_secret_keys_are_masked_whatever_their_spelling(key):
    assert redact({key: "hunter2-value"}) == {key: MASK}


@pytest.mark.parametrize(
    "value",
    [
        "Bearer abcdefghijklmnop",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "sk-ant-api03-abcdefghijklmnopqrstuvwxyz",
        "https://user:pa55word@db.example.com/x",
        "mail me at ops@example.com",
        "card 4111 1111 1111 1111",
        "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawqx",
    ],
)
def test_secret_values_are_masked_inside_text(value):
    redacted = redact({"note": value})["note"]
    assert MASK in redacted
    for fragment in ("abcdefghijklmnop", "pa55word", "ops@example.com", "4111 1111", "AAHdq"):
        assert fragment not in redacted


def test_nested_structures_and_plain_values_survive():
    data = {"title": "hello", "items": [{"token": "x"}, 3, None], "count": 2}
    assert redact(data) == {"title": "hello", "items": [{"token": MASK}, 3, None], "count": 2}


def test_headers_and_detection():
    assert redact_headers({"X-Auth-Token": "t", "Accept": "json"}) == {
        "X-Auth-Token": MASK,
        "Accept": "json",
    }
    assert contains_credential("key sk-ant-api03-abcdefghijklmnopqrstuvwxyz")
    assert not contains_credential("a harmless title")


def test_every_log_line_is_redacted_whoever_wrote_it():
    import logging

    from autopack_site.logging import JSONFormatter

    record = logging.makeLogRecord(
        {
            "name": "some.library",
            "levelname": "INFO",
            "msg": "GET https://api.example.com/?key=1 Authorization: Bearer abcdefghijklmnopqrstu",
            "headers": {"X-Api-Key": "k-123456"},
        }
    )
    line = JSONFormatter().format(record)
    assert "abcdefghijklmnopqrstu" not in line
    assert "k-123456" not in line


def test_scrub_replaces_the_callers_secrets_in_every_spelling_then_the_patterns():
    secret = "p@ss word+/=secret"
    text = f"failed: {secret} / client_secret=p%40ss+word%2B%2F%3Dsecret / ops@example.com"
    scrubbed = scrub(text, secrets=(secret, "", "ab"))
    assert "p@ss" not in scrubbed and "p%40ss" not in scrubbed and "ops@" not in scrubbed
    assert scrubbed.count(MASK) == 3
    assert scrub("ab and abc") == "ab and abc"  # nothing that short is treated as a secret


def test_one_mask_everywhere_including_dry_runs():
    from ledger.providers.base import PreparedRequest

    rendered = PreparedRequest(
        "POST", "https://x", {"Authorization": "Bearer t", "Accept": "json"}, {}, ("Authorization",)
    ).rendered()
    assert rendered.headers == {"Authorization": MASK, "Accept": "json"}
    assert MASK == "[redacted]"
