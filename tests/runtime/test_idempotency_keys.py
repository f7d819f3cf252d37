"""The idempotency key function: property-based (hypothesis) and example tests."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serverless_patterns.runtime.batch import SqsRecord
from serverless_patterns.runtime.idempotency import IdempotencyKeyError, idempotency_key
from serverless_patterns.runtime.idempotency.keys import as_selector, canonical_json, data_hash
from serverless_patterns.runtime.idempotency.sqs_batch import keyed_record
from tests.runtime.sqs_events import sqs_record

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def is_empty(value: Any) -> bool:
    """What the key function refuses: nothing selected (None, empty, or a list of Nones)."""
    if value in (None, "", [], {}):
        return True
    return isinstance(value, list) and all(part is None for part in value)


selected_values = json_values.filter(lambda v: not is_empty(v))


def reordered(value: Any, rng: random.Random) -> Any:
    """The same JSON value with every object's keys inserted in a shuffled order."""
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {key: reordered(value[key], rng) for key in keys}
    if isinstance(value, list):
        return [reordered(item, rng) for item in value]
    return value


@given(value=selected_values, seed=st.integers())
def test_key_is_stable_across_dict_ordering(value: Any, seed: int) -> None:
    shuffled = reordered(value, random.Random(seed))
    assert idempotency_key("ns", shuffled) == idempotency_key("ns", value)


@given(a=selected_values, b=selected_values)
def test_different_selected_values_give_different_keys(a: Any, b: Any) -> None:
    if canonical_json(a) != canonical_json(b):
        assert idempotency_key("ns", a) != idempotency_key("ns", b)
    else:
        assert idempotency_key("ns", a) == idempotency_key("ns", b)


@given(value=selected_values, other=st.text(min_size=1, max_size=10))
def test_namespaces_separate_keys(value: Any, other: str) -> None:
    assert idempotency_key("payments", value) != idempotency_key(f"payments{other}", value)


@given(
    payment_id=st.text(min_size=1, max_size=30),
    noise=st.dictionaries(st.sampled_from(["note", "sent_at", "trace"]), json_scalars),
)
def test_selected_part_alone_decides_the_key(payment_id: str, noise: dict[str, Any]) -> None:
    """Two messages with the same payment id but different other fields share a key."""
    select = as_selector("payment_id")
    assert select is not None
    plain = {"payment_id": payment_id}
    assert idempotency_key("ns", select({**plain, **noise})) == idempotency_key("ns", payment_id)


def test_key_format_is_namespace_and_sha256_of_canonical_json() -> None:
    key = idempotency_key("fn.module.handler", {"b": 1, "a": [True, None]})
    namespace, digest = key.split("#")
    assert namespace == "fn.module.handler"
    assert digest == data_hash({"a": [True, None], "b": 1})
    assert len(digest) == 64
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'


@pytest.mark.parametrize("empty", [None, "", [], {}, [None, None]])
def test_an_empty_selected_key_is_an_error(empty: Any) -> None:
    with pytest.raises(IdempotencyKeyError, match="empty"):
        idempotency_key("ns", empty)


def test_zero_and_false_are_keys_not_empty() -> None:
    assert idempotency_key("ns", 0) != idempotency_key("ns", False)


def test_data_that_is_not_json_is_a_key_error() -> None:
    with pytest.raises(IdempotencyKeyError, match="not JSON-serializable"):
        data_hash({"at": object()})


def test_record_key_errors_name_the_message_not_the_body() -> None:
    record = SqsRecord(sqs_record(json.dumps({"secret": "s3cr3t"}), message_id="m-1"))
    select = as_selector("payment_id")
    assert select is not None

    keyed = keyed_record(record, "ns", lambda r: select(r.json()), None)

    assert keyed.key is None
    assert isinstance(keyed.error, IdempotencyKeyError)
    assert "m-1" in str(keyed.error)
    assert "s3cr3t" not in str(keyed.error)


def test_record_key_and_validation_hash() -> None:
    body = {"payment_id": "p1", "amount_cents": 5, "currency": "EUR"}
    record = SqsRecord(sqs_record(json.dumps(body)))

    keyed = keyed_record(
        record, "ns", lambda r: r.json()["payment_id"], lambda r: r.json()["amount_cents"]
    )

    assert keyed.key == idempotency_key("ns", "p1")
    assert keyed.validation == data_hash(5)
    assert keyed.error is None


def test_a_key_holding_a_lone_surrogate_is_hashed_not_refused() -> None:
    """JSON may carry the escape "\\ud800", which Python decodes to a lone surrogate: a valid
    event must get a stable key, distinct from the replacement character's."""
    payment_id = json.loads('"pay-\\ud800"')
    key = idempotency_key("payments", payment_id)
    assert key == idempotency_key("payments", json.loads('"pay-\\ud800"'))
    assert key != idempotency_key("payments", "pay-\ufffd")
    assert data_hash([payment_id]) != data_hash(["pay-"])


@given(st.text(st.characters(categories=["Cs"]) | st.characters(), min_size=1))
def test_any_string_key_is_hashed(text: str) -> None:
    """Any non-empty string, lone surrogates (category Cs) included, gets a key."""
    assert idempotency_key("ns", text) == idempotency_key("ns", str(text))
