"""``parse_json`` behaviour the mutation run (issue 14) found unpinned."""

from __future__ import annotations

import json

import pytest

from serverless_patterns.runtime.json_input import MalformedJson, parse_json


def test_finite_is_keyword_only() -> None:
    with pytest.raises(TypeError):
        parse_json("1", True)  # type: ignore[call-arg]
    assert parse_json(data="[1]", finite=True) == [1]


def test_a_long_error_message_is_cut_to_120_characters() -> None:
    text = "9" * 5_000  # over Python's int-string limit: a ValueError with a long message
    with pytest.raises(ValueError) as original:
        json.loads(text)
    assert len(str(original.value)) > 120

    with pytest.raises(MalformedJson) as raised:
        parse_json(text)

    assert str(raised.value) == f"ValueError: {str(original.value)[:120]}"


def test_deep_nesting_is_named_without_the_recursion_details() -> None:
    with pytest.raises(MalformedJson) as raised:
        parse_json("[" * 100_000)
    assert str(raised.value) == "RecursionError: nested too deeply"


def test_nan_is_accepted_unless_finite_is_asked() -> None:
    assert parse_json("[1.5]") == [1.5]
    assert parse_json("NaN") != parse_json("NaN")  # a float NaN, as json.loads gives
    with pytest.raises(MalformedJson):
        parse_json("NaN", finite=True)
