"""Idempotency keys: a selected part of the data, canonicalised and hashed.

The key is stable across dict ordering (canonical JSON with sorted keys) and namespaced, so
several handlers can share one table without their keys colliding.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from serverless_patterns.runtime.idempotency.errors import IdempotencyKeyError

Selector = Callable[[Any], Any]
"""Selects the part of the data that identifies it (or that payload validation compares)."""


def canonical_json(data: Any) -> str:
    """JSON with sorted keys and no whitespace: equal data gives equal text, in any order."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def data_hash(data: Any) -> str:
    """SHA-256 of the canonical JSON of ``data``, hex encoded."""
    try:
        text = canonical_json(data)
    except (TypeError, ValueError) as exc:  # not JSON-serializable, or a circular reference
        raise IdempotencyKeyError(f"the selected data is not JSON-serializable: {exc}") from None
    # A JSON string escape such as "\\ud800" decodes to a lone surrogate, which strict UTF-8
    # refuses; surrogatepass gives such text its own stable bytes (other text is unchanged).
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def jmespath_selector(expression: str) -> Selector:
    """A selector evaluating a JMESPath expression (jmespath ships with boto3)."""
    import jmespath

    compiled = jmespath.compile(expression)

    def search(data: Any) -> Any:
        return compiled.search(data)

    return search


def as_selector(selector: str | Selector | None) -> Selector | None:
    """A JMESPath expression becomes a selector; callables and None pass through."""
    return jmespath_selector(selector) if isinstance(selector, str) else selector


def idempotency_key(namespace: str, data: Any) -> str:
    """``<namespace>#<sha256 of the canonical JSON of data>``.

    Raises IdempotencyKeyError when ``data`` is None or empty: an absent key would make every
    such record a duplicate of the first.
    """
    missing = data is None or data in ("", [], {})
    if missing or (isinstance(data, list) and all(part is None for part in data)):
        raise IdempotencyKeyError(f"the idempotency key is empty ({data!r}); check the selector")
    return f"{namespace}#{data_hash(data)}"
