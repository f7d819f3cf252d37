"""Standard Webhooks signing and verification: acceptance, every tampering, the window."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serverless_patterns.runtime.webhooks.signing import (
    REASONS,
    VerifiedWebhook,
    WebhookVerificationError,
    decode_secret,
    headers,
    sign,
    verify,
)

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"o" * 32).decode()
NOW = 1_700_000_000
BODY = b'{"type":"invoice.paid","data":{"amount":42}}'
MSG_ID = "msg_2b5e0f"


def signed(secret: str | bytes = SECRET, *, body: bytes = BODY, ts: int = NOW) -> dict[str, str]:
    return headers(secret, MSG_ID, ts, body)


def reason_of(secrets: list[str | bytes], hdrs: dict[str, str], body: bytes = BODY) -> str:
    with pytest.raises(WebhookVerificationError) as caught:
        verify(secrets, hdrs, body, now=NOW)
    assert caught.value.reason in REASONS
    return caught.value.reason


def test_known_answer_from_the_standard_webhooks_library() -> None:
    # Test vector of standard-webhooks/standard-webhooks,
    # libraries/python/tests/test_webhooks.py::test_sign_function.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    msg_id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    body = b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert sign(secret, msg_id, 1614265330, body) == expected
    hdrs = {"webhook-id": msg_id, "webhook-timestamp": "1614265330", "webhook-signature": expected}
    assert verify([secret], hdrs, body, now=1614265330).body == body


def test_a_correct_signature_is_accepted() -> None:
    assert verify([SECRET], signed(), BODY, now=NOW) == VerifiedWebhook(MSG_ID, NOW, BODY)


def test_raw_byte_secrets_and_unprefixed_base64_secrets_sign_alike() -> None:
    raw = b"k" * 32
    assert sign(raw, MSG_ID, NOW, BODY) == sign(SECRET, MSG_ID, NOW, BODY)
    assert sign(SECRET.removeprefix("whsec_"), MSG_ID, NOW, BODY) == sign(SECRET, MSG_ID, NOW, BODY)
    verify([raw], signed(), BODY, now=NOW)


def test_header_names_are_case_insensitive() -> None:
    hdrs = {name.upper(): value for name, value in signed().items()}
    verify([SECRET], hdrs, BODY, now=NOW)


def test_a_rotated_signature_list_is_accepted_by_either_secret() -> None:
    both = headers([OTHER_SECRET, SECRET], MSG_ID, NOW, BODY)
    assert len(both["webhook-signature"].split()) == 2
    verify([SECRET], both, BODY, now=NOW)
    verify([OTHER_SECRET], both, BODY, now=NOW)


def test_several_secrets_on_the_verifier_side() -> None:
    verify([OTHER_SECRET, SECRET], signed(), BODY, now=NOW)
    assert reason_of([OTHER_SECRET], signed()) == "no_matching_signature"


def test_unknown_versions_are_ignored_next_to_a_valid_signature() -> None:
    hdrs = signed()
    digest = hdrs["webhook-signature"].split(",", 1)[1]
    hdrs["webhook-signature"] = f"v2,{digest} v1a,{digest} {hdrs['webhook-signature']}"
    verify([SECRET], hdrs, BODY, now=NOW)


def test_only_unknown_versions_are_rejected() -> None:
    hdrs = signed()
    hdrs["webhook-signature"] = hdrs["webhook-signature"].replace("v1,", "v2,")
    assert reason_of([SECRET], hdrs) == "no_supported_signature"


def test_a_changed_body_byte_is_rejected() -> None:
    tampered = bytes([BODY[0] ^ 1]) + BODY[1:]
    assert reason_of([SECRET], signed(), tampered) == "no_matching_signature"


def test_a_changed_id_is_rejected() -> None:
    hdrs = signed() | {"webhook-id": MSG_ID + "x"}
    assert reason_of([SECRET], hdrs) == "no_matching_signature"


def test_a_changed_timestamp_is_rejected() -> None:
    hdrs = signed() | {"webhook-timestamp": str(NOW - 1)}
    assert reason_of([SECRET], hdrs) == "no_matching_signature"


def test_a_changed_signature_byte_is_rejected() -> None:
    hdrs = signed()
    digest = bytearray(base64.b64decode(hdrs["webhook-signature"].split(",", 1)[1]))
    digest[5] ^= 0x01
    hdrs["webhook-signature"] = "v1," + base64.b64encode(bytes(digest)).decode()
    assert reason_of([SECRET], hdrs) == "no_matching_signature"


@pytest.mark.parametrize("offset", [-300, -299, 0, 299, 300])
def test_timestamps_inside_the_window_are_accepted(offset: int) -> None:
    verify([SECRET], signed(ts=NOW + offset), BODY, now=NOW)


def test_a_timestamp_just_too_old_is_rejected() -> None:
    assert reason_of([SECRET], signed(ts=NOW - 301)) == "timestamp_too_old"


def test_a_timestamp_just_too_new_is_rejected() -> None:
    assert reason_of([SECRET], signed(ts=NOW + 301)) == "timestamp_too_new"


def test_the_tolerance_is_configurable() -> None:
    hdrs = signed(ts=NOW - 20)
    with pytest.raises(WebhookVerificationError, match="timestamp_too_old"):
        verify([SECRET], hdrs, BODY, now=NOW, tolerance_seconds=10)
    verify([SECRET], hdrs, BODY, now=NOW, tolerance_seconds=30)


@pytest.mark.parametrize("name", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_rejected(name: str) -> None:
    hdrs = signed()
    del hdrs[name]
    assert reason_of([SECRET], hdrs) == "missing_header"
    assert reason_of([SECRET], hdrs | {name: "  "}) == "missing_header"


@pytest.mark.parametrize("value", ["12a", "-5", "1.5e9", "\uff11\uff12"])
def test_a_malformed_timestamp_is_rejected(value: str) -> None:
    assert reason_of([SECRET], signed() | {"webhook-timestamp": value}) == "malformed_timestamp"


@pytest.mark.parametrize(
    "value", ["v1", "v1,", ",abc", "v1,not base64!", "garbage", "v1;AAAA", "v1,@@@@ v1,%%"]
)
def test_a_malformed_signature_list_is_rejected(value: str) -> None:
    assert reason_of([SECRET], signed() | {"webhook-signature": value}) == "malformed_signature"


@pytest.mark.parametrize(
    "secret", ["whsec_not*base64", "whsec_", "whsec_a", "whsec_ab cd", "whsec_abc-_", "whsec_ab=c"]
)
def test_a_bad_base64_secret_is_an_error(secret: str) -> None:
    assert reason_of([secret], signed()) == "bad_secret"
    with pytest.raises(WebhookVerificationError, match="bad_secret"):
        sign(secret, MSG_ID, NOW, BODY)


def test_no_secret_is_an_error() -> None:
    assert reason_of([], signed()) == "no_secret"


def test_messages_never_contain_the_secret_or_the_signature() -> None:
    hdrs = signed(OTHER_SECRET)
    with pytest.raises(WebhookVerificationError) as caught:
        verify([SECRET], hdrs, BODY, now=NOW)
    text = str(caught.value)
    for secret_text in (SECRET, SECRET.removeprefix("whsec_"), hdrs["webhook-signature"]):
        assert secret_text not in text
    assert BODY.decode() not in text


@settings(max_examples=200, deadline=None)
@given(
    msg_id=st.text(min_size=1, max_size=40).filter(lambda s: s.strip() == s and s != ""),
    ts_delta=st.integers(min_value=-300, max_value=300),
    body=st.binary(max_size=200),
    change=st.sampled_from(["id", "timestamp", "body"]),
    data=st.data(),
)
def test_any_change_to_id_timestamp_or_body_breaks_verification(
    msg_id: str, ts_delta: int, body: bytes, change: str, data: st.DataObject
) -> None:
    ts = NOW + ts_delta
    hdrs = headers(SECRET, msg_id, ts, body)
    assert verify([SECRET], hdrs, body, now=NOW).id == msg_id
    if change == "id":
        other = data.draw(st.text(min_size=1, max_size=40).filter(lambda s: s.strip() == s))
        if other == msg_id:
            other += "x"
        hdrs = hdrs | {"webhook-id": other}
    elif change == "timestamp":
        other_ts = data.draw(st.integers(min_value=-300, max_value=300).map(lambda d: NOW + d))
        hdrs = hdrs | {
            "webhook-timestamp": str(other_ts if other_ts != ts else ts - 1 if ts > NOW else ts + 1)
        }
    else:
        other_body = data.draw(st.binary(max_size=200))
        body = other_body if other_body != body else body + b"\x00"
    with pytest.raises(WebhookVerificationError) as caught:
        verify([SECRET], hdrs, body, now=NOW)
    assert caught.value.reason == "no_matching_signature"


# --- issue 12 ---------------------------------------------------------------------------------

#: A 32-byte key whose base64 form has one "=" of padding, and two for a 31-byte key.
_PADDED_KEYS = (b"u" * 32, b"v" * 31)


@pytest.mark.parametrize("key", _PADDED_KEYS, ids=["one pad", "two pads"])
def test_an_unpadded_base64_secret_is_the_same_secret(key: bytes) -> None:
    # Issue 12 item 5. The Standard Webhooks reference library pads before decoding
    # (standard-webhooks libraries/python/standardwebhooks/webhooks.py: Webhook.__init__ adds
    # "==", as b64decode skips extra padding), so an unpadded secret is accepted there.
    padded = "whsec_" + base64.b64encode(key).decode()
    unpadded = padded.rstrip("=")
    assert unpadded != padded
    assert sign(unpadded, MSG_ID, NOW, BODY) == sign(key, MSG_ID, NOW, BODY)
    assert verify([unpadded], headers(padded, MSG_ID, NOW, BODY), BODY, now=NOW).body == BODY


SVIX_NAMES = {
    "webhook-id": "svix-id",
    "webhook-timestamp": "svix-timestamp",
    "webhook-signature": "svix-signature",
}


def svix(hdrs: dict[str, str], *, case: str = "lower") -> dict[str, str]:
    renamed = {SVIX_NAMES[name]: value for name, value in hdrs.items()}
    return {getattr(name, case)(): value for name, value in renamed.items()}


@pytest.mark.parametrize("case", ["lower", "upper", "title"])
def test_svix_header_names_are_accepted(case: str) -> None:
    # Issue 12 item 6. svix signs with the same scheme under svix-id / svix-timestamp /
    # svix-signature; its library (svix/svix-webhooks python/svix/webhooks.py:
    # Webhook.verify) reads that family, else the webhook-* family.
    verified = verify([SECRET], svix(signed(), case=case), BODY, now=NOW)
    assert verified == VerifiedWebhook(MSG_ID, NOW, BODY)


def test_svix_headers_are_checked_like_webhook_headers() -> None:
    assert reason_of([SECRET], svix(signed(OTHER_SECRET))) == "no_matching_signature"
    assert reason_of([SECRET], svix(signed(ts=NOW - 400))) == "timestamp_too_old"
    partial = svix(signed())
    del partial["svix-signature"]
    assert reason_of([SECRET], partial) == "missing_header"


def test_one_header_family_is_used_whole_never_mixed() -> None:
    # A complete webhook-* family wins; its headers are never combined with svix-* ones.
    good, other = signed(), headers(SECRET, "msg_other", NOW, BODY)
    assert verify([SECRET], good | svix(other), BODY, now=NOW).id == MSG_ID
    mixed = {"webhook-id": MSG_ID, "webhook-timestamp": str(NOW)} | svix(other)
    assert verify([SECRET], mixed, BODY, now=NOW).id == "msg_other"
    del mixed["svix-id"]
    assert reason_of([SECRET], mixed) == "missing_header"


@pytest.mark.parametrize("digits", [16, 4_301, 5_000])
def test_a_timestamp_with_thousands_of_digits_is_too_new_not_a_crash(digits: int) -> None:
    # int() of more than 4,300 digits raises ValueError (Python's int-string limit).
    value = "9" * digits
    assert reason_of([SECRET], signed() | {"webhook-timestamp": value}) == "timestamp_too_new"
    # Leading zeros do not count: this is NOW, in the window (the signature covers other text).
    zeros = signed() | {"webhook-timestamp": "0" * 5_000 + str(NOW)}
    assert reason_of([SECRET], zeros) == "no_matching_signature"


@settings(max_examples=200, deadline=None)
@given(secret=st.text(max_size=60))
def test_decode_secret_accepts_or_refuses_with_bad_secret_only(secret: str) -> None:
    """Property: any string is a key or a ``bad_secret`` error; a base64-alphabet string of
    a valid length decodes to what its padded form decodes to."""
    text = secret.strip().removeprefix("whsec_")
    try:
        key = decode_secret(secret)
    except WebhookVerificationError as error:
        assert error.reason == "bad_secret"
        assert str(error) in {  # fixed messages: never the secret
            "bad_secret: the secret is not valid base64",
            "bad_secret: the secret is empty",
        }
        return
    padded = text + "=" * (-len(text) % 4)
    assert key == base64.b64decode(padded, validate=True)
    assert key
