"""Standard Webhooks verification behaviour the mutation run (issue 14) found unpinned.

Every test asserts what ``verify`` returns or the exact error, so a mutant of
``runtime/webhooks/signing.py`` that still returns *something* is caught. The scheme is the
Standard Webhooks specification (standard-webhooks/standard-webhooks, spec/standard-webhooks.md:
"Verifying webhook authenticity", "Signature scheme"): ``v1,<base64 HMAC-SHA256>`` of
``{id}.{timestamp}.{body}``, several space-separated signatures, secrets ``whsec_`` + base64.
These hold with or without the padding of unpadded secrets (issue 12): only characters outside
the base64 alphabet are refused.
"""

from __future__ import annotations

import base64
import dataclasses
import time

import pytest

from serverless_patterns.runtime.webhooks.signing import (
    VerifiedWebhook,
    WebhookVerificationError,
    decode_secret,
    headers,
    sign,
    verify,
)

KEY = b"k" * 32
SECRET = "whsec_" + base64.b64encode(KEY).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"o" * 32).decode()
NOW = 1_700_000_000
BODY = b'{"type":"invoice.paid","data":{"amount":42}}'
MSG_ID = "msg_2b5e0f"
ACCEPTED = VerifiedWebhook(MSG_ID, NOW, BODY)


def signed(secret: str | bytes = SECRET, *, ts: int = NOW) -> dict[str, str]:
    return headers(secret, MSG_ID, ts, BODY)


def error_of(secrets: object, hdrs: dict[str, str], **kwargs: object) -> str:
    """The full text of the WebhookVerificationError ``verify`` raises: "reason: message"."""
    with pytest.raises(WebhookVerificationError) as caught:
        verify(secrets, hdrs, BODY, **{"now": NOW, **kwargs})  # type: ignore[arg-type]
    assert str(caught.value).startswith(caught.value.reason + ": ")
    return str(caught.value)


# --- secrets -------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["*", "!", "-", "_", "é", "\x00"])
@pytest.mark.parametrize("where", [0, 20, 43])
def test_a_non_base64_character_inside_a_valid_secret_is_refused(bad: str, where: int) -> None:
    # Mutant: b64decode(..., validate=True) -> validate=False, which drops such characters and
    # decodes the rest to the very same key.
    encoded = base64.b64encode(KEY).decode()
    secret = "whsec_" + encoded[:where] + bad + encoded[where:]
    with pytest.raises(WebhookVerificationError) as caught:
        decode_secret(secret)
    assert str(caught.value) == "bad_secret: the secret is not valid base64"
    assert error_of([secret], signed()) == "bad_secret: the secret is not valid base64"


def test_an_empty_secret_is_refused_with_its_own_message() -> None:
    for empty in ("whsec_", "", "   ", b""):
        with pytest.raises(WebhookVerificationError) as caught:
            decode_secret(empty)
        assert str(caught.value) == "bad_secret: the secret is empty"


def test_surrounding_whitespace_and_the_prefix_are_not_part_of_the_key() -> None:
    assert decode_secret(f"  {SECRET}\n") == KEY
    assert decode_secret(SECRET.removeprefix("whsec_")) == KEY
    assert decode_secret(KEY) == KEY


def test_one_bare_secret_works_like_a_list_of_one() -> None:
    # Mutant: the `isinstance(secrets, str | bytes)` wrapping removed or negated; a bare string
    # would then be iterated character by character.
    assert verify(SECRET, signed(), BODY, now=NOW) == ACCEPTED
    assert verify(KEY, signed(), BODY, now=NOW) == ACCEPTED  # type: ignore[arg-type]
    assert verify((SECRET,), signed(), BODY, now=NOW) == ACCEPTED


def test_every_secret_must_decode_even_when_another_matches() -> None:
    assert error_of([SECRET, "whsec_*"], signed()) == "bad_secret: the secret is not valid base64"


def test_sign_and_headers_with_one_secret_or_several() -> None:
    signature = sign(SECRET, MSG_ID, NOW, BODY)
    assert signature.startswith("v1,")
    assert len(base64.b64decode(signature[3:])) == 32
    assert headers(SECRET, MSG_ID, NOW, BODY) == {
        "webhook-id": MSG_ID,
        "webhook-timestamp": str(NOW),
        "webhook-signature": signature,
    }
    both = headers([SECRET, OTHER_SECRET], MSG_ID, NOW, BODY)["webhook-signature"]
    assert both == f"{signature} {sign(OTHER_SECRET, MSG_ID, NOW, BODY)}"
    assert headers(KEY, MSG_ID, NOW, BODY)["webhook-signature"] == signature


# --- accepted webhooks return exactly what was verified --------------------------------------


def test_header_names_match_in_any_case() -> None:
    for case in (str.upper, str.title, str.lower):
        hdrs = {case(name): value for name, value in signed().items()}
        assert verify([SECRET], hdrs, BODY, now=NOW) == ACCEPTED


def test_header_values_are_trimmed_and_empty_duplicates_skipped() -> None:
    hdrs = {"Webhook-Id": "  ", **{name: f" {value} " for name, value in signed().items()}}
    assert verify([SECRET], hdrs, BODY, now=NOW) == ACCEPTED


def test_unknown_versions_and_malformed_parts_next_to_a_valid_signature() -> None:
    valid = signed()["webhook-signature"]
    digest = valid.split(",", 1)[1]
    hdrs = signed() | {"webhook-signature": f"v2,{digest} v1a,{digest} v1,@@ nocomma {valid}"}
    assert verify([SECRET], hdrs, BODY, now=NOW) == ACCEPTED


def test_a_v1_signature_of_the_wrong_length_is_not_a_candidate() -> None:
    short = "v1," + base64.b64encode(b"x" * 31).decode()
    hdrs = signed() | {"webhook-signature": short}
    assert error_of([SECRET], hdrs) == "no_supported_signature: no v1 signature was found"
    hdrs = signed() | {"webhook-signature": f"{short} {signed()['webhook-signature']}"}
    assert verify([SECRET], hdrs, BODY, now=NOW) == ACCEPTED


def test_a_rotated_list_and_several_secrets_each_verify() -> None:
    rotated = headers([OTHER_SECRET, SECRET], MSG_ID, NOW, BODY)
    assert verify([SECRET], rotated, BODY, now=NOW) == ACCEPTED
    assert verify([OTHER_SECRET], rotated, BODY, now=NOW) == ACCEPTED
    # The matching secret first, last, or alone among several.
    for secrets in ([SECRET, OTHER_SECRET], [OTHER_SECRET, SECRET], [SECRET]):
        assert verify(secrets, signed(), BODY, now=NOW) == ACCEPTED
    # The matching signature first or last among several candidates.
    for order in ([SECRET, OTHER_SECRET], [OTHER_SECRET, SECRET]):
        hdrs = headers(order, MSG_ID, NOW, BODY)
        assert verify([SECRET], hdrs, BODY, now=NOW) == ACCEPTED


def test_raw_byte_secrets_verify() -> None:
    assert verify([KEY], signed(), BODY, now=NOW) == ACCEPTED
    assert verify([b"o" * 32, KEY], signed(), BODY, now=NOW) == ACCEPTED


# --- the timestamp window ------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-300, -1, 0, 1, 300])
def test_timestamps_inside_the_window_return_their_value(offset: int) -> None:
    verified = verify([SECRET], signed(ts=NOW + offset), BODY, now=NOW)
    assert verified == VerifiedWebhook(MSG_ID, NOW + offset, BODY)


def test_the_tolerance_bounds_both_directions_exactly() -> None:
    for offset in (-10, 10):
        assert verify([SECRET], signed(ts=NOW + offset), BODY, now=NOW, tolerance_seconds=10)
    assert error_of([SECRET], signed(ts=NOW - 11), tolerance_seconds=10) == (
        "timestamp_too_old: the timestamp is too old"
    )
    assert error_of([SECRET], signed(ts=NOW + 11), tolerance_seconds=10) == (
        "timestamp_too_new: the timestamp is too new"
    )


def test_the_default_now_is_the_current_time() -> None:
    current = int(time.time())
    assert verify([SECRET], signed(ts=current), BODY).timestamp == current
    with pytest.raises(WebhookVerificationError) as caught:
        verify([SECRET], signed(ts=NOW), BODY)  # 2023: far outside the window today
    assert caught.value.reason == "timestamp_too_old"


def test_leading_zeros_and_zero_itself_are_timestamps() -> None:
    hdrs = signed() | {"webhook-timestamp": "000" + str(NOW)}
    # The signature covers the header text as sent, so the zeros are part of what is signed.
    hdrs["webhook-signature"] = sign(SECRET, MSG_ID, NOW, BODY)  # signed over "1700000000"
    assert error_of([SECRET], hdrs).startswith("no_matching_signature")
    assert error_of([SECRET], signed() | {"webhook-timestamp": "0"}) == (
        "timestamp_too_old: the timestamp is too old"
    )


# --- the exact "reason: message" of every error --------------------------------------------


def test_every_error_text_is_reason_colon_message() -> None:
    no_id = signed()
    del no_id["webhook-id"]
    no_timestamp = signed()
    del no_timestamp["webhook-timestamp"]
    expected = {
        "missing_header: the webhook-id header is missing or empty": ([SECRET], no_id),
        "missing_header: the webhook-timestamp header is missing or empty": (
            [SECRET],
            no_timestamp,
        ),
        "malformed_timestamp: the webhook-timestamp header is not a Unix time in seconds": (
            [SECRET],
            signed() | {"webhook-timestamp": "12a"},
        ),
        "malformed_signature: no signature of the form <version>,<base64> was found": (
            [SECRET],
            signed() | {"webhook-signature": "v1,***"},
        ),
        "no_supported_signature: no v1 signature was found": (
            [SECRET],
            signed() | {"webhook-signature": signed()["webhook-signature"].replace("v1", "v2")},
        ),
        "no_secret: no secret to verify with": ([], signed()),
        "no_matching_signature: no signature matches the body, id and timestamp": (
            [OTHER_SECRET],
            signed(),
        ),
    }
    for text, (secrets, hdrs) in expected.items():
        assert error_of(secrets, hdrs) == text


def test_the_reason_attribute_is_the_code_alone() -> None:
    with pytest.raises(WebhookVerificationError) as caught:
        verify([OTHER_SECRET], signed(), BODY, now=NOW)
    assert caught.value.reason == "no_matching_signature"
    assert caught.value.args == (
        "no_matching_signature: no signature matches the body, id and timestamp",
    )


def test_verify_takes_its_first_three_arguments_by_keyword_too() -> None:
    verified = verify(secrets=[SECRET], headers=signed(), body=BODY, now=NOW)
    assert verified == ACCEPTED


def test_a_signature_without_a_version_is_malformed_not_unsupported() -> None:
    digest = signed()["webhook-signature"].split(",", 1)[1]
    assert error_of([SECRET], signed() | {"webhook-signature": f",{digest}"}) == (
        "malformed_signature: no signature of the form <version>,<base64> was found"
    )


def test_a_timestamp_of_15_digits_is_read_and_one_of_16_is_too_new() -> None:
    # 15 digits (leading zeros aside) are read as a number; more are too new without reading.
    far = 10**14  # 15 digits, the largest timestamp size read
    hdrs = headers(SECRET, MSG_ID, far, BODY)
    assert verify([SECRET], hdrs, BODY, now=far).timestamp == far
    hdrs = headers(SECRET, MSG_ID, 10**15, BODY)
    assert error_of([SECRET], hdrs, now=10**15) == "timestamp_too_new: the timestamp is too new"


def test_a_verified_webhook_cannot_be_altered_after_verification() -> None:
    verified = verify([SECRET], signed(), BODY, now=NOW)
    with pytest.raises(dataclasses.FrozenInstanceError):
        verified.body = b"{}"  # type: ignore[misc]
    assert verified == ACCEPTED
