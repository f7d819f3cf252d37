"""parse_json: every input json.loads cannot parse is one MalformedJson that never quotes it."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serverless_patterns.runtime.json_input import MalformedJson, parse_json
from tests.runtime.hostile_inputs import (
    DEEP_ARRAY_TEXT,
    DEEP_OBJECT_TEXT,
    HUGE_INTEGER_TEXT,
    NON_FINITE_TEXTS,
    hostile_json_bytes,
)

MARKER = "zq-secret-marker"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (HUGE_INTEGER_TEXT, "ValueError"),  # above Python's 4,300-digit int-string limit
        (DEEP_ARRAY_TEXT, "RecursionError"),
        (DEEP_OBJECT_TEXT, "RecursionError"),
        (b'{"a": "\xff"}', "UnicodeDecodeError"),
        ('{"a": 1', "JSONDecodeError"),
    ],
)
def test_each_kind_of_unparsable_input_is_malformed_json_naming_its_kind(
    data: str | bytes, reason: str
) -> None:
    with pytest.raises(MalformedJson) as caught:
        parse_json(data)
    assert str(caught.value).startswith(reason)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.parametrize("text", NON_FINITE_TEXTS)
def test_numbers_strict_json_cannot_carry_are_refused_only_when_finite_is_asked(
    text: str,
) -> None:
    assert not math.isfinite(parse_json(text))
    with pytest.raises(MalformedJson):
        parse_json(f"[1, {text}]", finite=True)


def test_finite_parsing_keeps_every_ordinary_number() -> None:
    assert parse_json('{"a": [1.10, -2e3, 7, 0.0]}', finite=True) == {"a": [1.1, -2000.0, 7, 0.0]}


@settings(max_examples=300, deadline=None)
@given(data=hostile_json_bytes(), finite=st.booleans())
def test_any_bytes_parse_or_raise_malformed_json_only(data: bytes, finite: bool) -> None:
    try:
        value = parse_json(data, finite=finite)
    except MalformedJson:
        return
    if finite:
        json.dumps(value, allow_nan=False)  # strict JSON: no NaN or infinity got through


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([f'{{"k": "{MARKER}"', f'["{MARKER}", NaN]', f"{MARKER}"]))
def test_the_error_never_quotes_the_input(text: str) -> None:
    with pytest.raises(MalformedJson) as caught:
        parse_json(text, finite=True)
    assert MARKER not in str(caught.value)
