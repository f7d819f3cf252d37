"""SQS message bodies as compact JSON that SQS accepts and that is sized as SQS counts it.

"Amazon SQS message quotas" (SQS Developer Guide): a message may hold only the Unicode
characters ``#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF``; any
other character is rejected. The size limit counts the body's bytes in UTF-8.

``sqs_json`` writes non-ASCII characters as themselves (a non-ASCII string costs its UTF-8
bytes, not six bytes per ``\\uXXXX`` escape) and escapes only what SQS refuses: control
characters (``json.dumps`` escapes those already), U+FFFE, U+FFFF and lone surrogates. Outside
strings JSON is ASCII, so these characters only occur inside strings, where ``\\uXXXX`` is the
same character to any JSON reader: the value round-trips exactly.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["SQS_MESSAGE_LIMIT_BYTES", "sqs_json", "utf8_size"]

#: The message size limit this runtime keeps to: 256 KiB, the largest size every queue
#: accepts (a queue's ``MaximumMessageSize`` may be set higher, up to 1 MiB).
SQS_MESSAGE_LIMIT_BYTES = 256 * 1024

#: Characters SQS refuses that ``json.dumps(ensure_ascii=False)`` leaves unescaped.
_REFUSED = re.compile("[\ud800-\udfff\ufffe\uffff]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def sqs_json(value: Any) -> str:
    """``value`` as compact JSON holding only characters SQS accepts."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return _REFUSED.sub(_escape, text)


def utf8_size(text: str) -> int:
    """The size SQS counts for a message body: its length in UTF-8."""
    return len(text.encode())
