"""jetnb.signing: Standard Webhooks and GitHub-style signatures, signed and verified with the standard library only."""

from __future__ import annotations

import pytest

from jetnb import signing
from jetnb.signing import SignatureError

# The Standard Webhooks reference test vector (its libraries' tests use the same values).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID, STAMP, BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
EXPECTED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def headers(signature: str = EXPECTED, **changes: str) -> dict[str, str]:
    return {"webhook-id": MSG_ID, "webhook-timestamp": str(STAMP), "webhook-signature": signature, **changes}


def test_signatures_match_the_reference_vector_and_verify() -> None:
    assert signing.sign(SECRET, MSG_ID, STAMP, BODY) == EXPECTED
    assert signing.signed_headers(SECRET, MSG_ID, BODY, timestamp=STAMP) == headers()
    assert signing.verify(SECRET, BODY, headers(), now=STAMP + 10) == MSG_ID
    upper = {k.title(): v for k, v in headers().items()}  # a plain dict with other header case
    assert signing.verify(SECRET, BODY, upper, now=STAMP) == MSG_ID


def test_any_of_several_signatures_may_match_while_a_key_rotates() -> None:
    old = signing.sign("whsec_" + "b2xkIGtleQ==", MSG_ID, STAMP, BODY)
    assert signing.verify(SECRET, BODY, headers(f"{old} v1a,ignored {EXPECTED}"), now=STAMP) == MSG_ID


@pytest.mark.parametrize("given, now, reason, message", [
    (headers(**{"webhook-signature": ""}), STAMP, "missing_header", "missing header webhook-signature"),
    ({"webhook-signature": EXPECTED}, STAMP, "missing_header", "missing header webhook-id, webhook-timestamp"),
    (headers(**{"webhook-timestamp": "yesterday"}), STAMP, "bad_timestamp", "not a Unix time"),
    (headers(), STAMP + 301, "stale_timestamp", "301s old, more than the 300s allowed"),
    (headers(), STAMP - 301, "future_timestamp", "301s in the future"),
    (headers("v1,AAAA" + EXPECTED[7:]), STAMP, "bad_signature", "does not match the body"),
    (headers("v2,whatever"), STAMP, "bad_signature", "has no v1 signature"),
    (headers(**{"webhook-id": "msg_other"}), STAMP, "bad_signature", "does not match"),
])
def test_verification_refuses_with_a_reason(given: dict[str, str], now: int, reason: str, message: str) -> None:
    with pytest.raises(SignatureError, match=message) as caught:
        signing.verify(SECRET, BODY, given, now=now)
    assert caught.value.reason == reason


def test_secrets_are_whsec_base64_raw_text_or_bytes() -> None:
    assert signing.secret_key("whsec_c2VjcmV0") == b"secret" == signing.secret_key("secret")
    assert signing.secret_key(b"\x00key") == b"\x00key"
    with pytest.raises(ValueError, match="secret: a whsec_ secret must be base64"):
        signing.secret_key("whsec_not base64!")
    with pytest.raises(ValueError, match="secret: must not be empty"):
        signing.secret_key("")
    with pytest.raises(TypeError, match="secret: expected text or bytes"):
        signing.secret_key(42)  # type: ignore[arg-type]
    with pytest.raises(SignatureError):  # the tolerance does not save a wrong key
        signing.verify("whsec_c2VjcmV0", BODY, headers(), now=STAMP)


def test_github_style_hmac_signs_and_verifies() -> None:
    signature = signing.sign_hub("s3cret", b"hello")
    # printf '%s' hello | openssl dgst -sha256 -hmac s3cret (the README's curl example signs the same way)
    assert signature == "sha256=e5a01537481fa0b2c697f787c7aff885412cf0760d08e08502259b39d2d6ae68"
    signing.verify_hub("s3cret", b"hello", signature)
    signing.verify_hub("s3cret", b"hello", signature.upper().replace("SHA256=", "sha256="))
    signing.verify_hub("s3cret", b"hello", signature[len("sha256="):])  # the bare hex, as some senders do
    with pytest.raises(SignatureError, match="does not match") as caught:
        signing.verify_hub("s3cret", b"hello!", signature)
    assert caught.value.reason == "bad_signature"
    with pytest.raises(SignatureError, match="missing signature header"):
        signing.verify_hub("s3cret", b"hello", None)


# Stripe: "t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>">", keyed with the endpoint secret as written.
STRIPE_SECRET = "whsec_test_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH"


def stripe_header(secret: str = STRIPE_SECRET, stamp: int = STAMP, body: bytes = BODY) -> str:
    import hashlib
    import hmac

    return f"t={stamp},v1={hmac.new(secret.encode(), f'{stamp}.'.encode() + body, hashlib.sha256).hexdigest()}"


def test_stripe_signatures_are_stripes_scheme_and_verify() -> None:
    assert signing.sign_stripe(STRIPE_SECRET, STAMP, BODY) == stripe_header()
    assert signing.verify_stripe(STRIPE_SECRET, BODY, stripe_header(), now=STAMP + 10) == STAMP
    rolled = f"{stripe_header(secret='whsec_old')},v1={stripe_header().split('v1=')[1]},v0=ignored"
    assert signing.verify_stripe(STRIPE_SECRET, BODY, rolled, now=STAMP) == STAMP


@pytest.mark.parametrize("header, now, reason, message", [
    (None, STAMP, "missing_header", "Stripe-Signature is missing or has no t= and v1="),
    (f"v1={'0' * 64}", STAMP, "missing_header", "has no t="),
    (stripe_header(), STAMP + 301, "stale_timestamp", "Stripe-Signature t= is 301s old"),
    (stripe_header(body=b"{}"), STAMP, "bad_signature", "Stripe-Signature does not match the body"),
    (stripe_header().replace(f"t={STAMP}", "t=soon"), STAMP, "bad_timestamp", "t= is not a Unix time"),
])
def test_stripe_refusals_say_why(header: str | None, now: int, reason: str, message: str) -> None:
    with pytest.raises(SignatureError) as caught:
        signing.verify_stripe(STRIPE_SECRET, BODY, header, now=now)
    assert caught.value.reason == reason and message in str(caught.value)
