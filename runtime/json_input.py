"""Parse JSON that came from outside: every malformed input is one error, never a crash.

``json.loads`` raises more than ``JSONDecodeError`` on hostile input: ``UnicodeDecodeError`` for
bytes that are not UTF-8, ``ValueError`` for an integer longer than Python's int-string limit
(4,300 digits by default), and ``RecursionError`` for nesting about 1,000 deep. A handler that
catches only ``JSONDecodeError`` answers 500 (or fails a whole batch) for client input.
"""

from __future__ import annotations

import json
import math
from typing import Any


class MalformedJson(ValueError):
    """The input is not JSON this runtime accepts; the message names why, never the input."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number is out of the range of a double")
    return value


def parse_json(data: str | bytes | bytearray, *, finite: bool = False) -> Any:
    """``json.loads(data)``, raising only ``MalformedJson`` for any input it cannot parse.

    :param finite: also refuse what strict JSON cannot carry and ``json.loads`` accepts: the
        ``NaN`` and ``Infinity`` literals, and numbers beyond a double's range (``1e999``).
        Default: - accepted, as ``json.loads`` does.
    """
    try:
        if finite:
            return json.loads(data, parse_constant=_refuse_constant, parse_float=_finite_float)
        return json.loads(data)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError included
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)[:120]
        raise MalformedJson(f"{type(error).__name__}: {reason}") from None
