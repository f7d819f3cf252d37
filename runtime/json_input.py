"""Parse JSON that came from outside: every malformed input is one error, never a crash.

``json.loads`` raises more than ``JSONDecodeError`` on hostile input: ``UnicodeDecodeError`` for
bytes that are not UTF-8, ``ValueError`` for an integer longer than Python's int-string limit
(4,300 digits by default), and ``RecursionError`` for nesting about 1,000 deep. A handler that
catches only ``JSONDecodeError`` answers 500 (or fails a whole batch) for client input.
"""

from __future__ import annotations

import json
from typing import Any


class MalformedJson(ValueError):
    """The input is not JSON this runtime accepts; the message names why, never the input."""


def parse_json(data: str | bytes | bytearray) -> Any:
    """``json.loads(data)``, raising only ``MalformedJson`` for any input it cannot parse."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError included
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)[:120]
        raise MalformedJson(f"{type(error).__name__}: {reason}") from None
