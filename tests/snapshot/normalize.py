"""Normalises synthesized templates so snapshots change only when resources do."""

from __future__ import annotations

import copy
import re
from typing import Any

_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
#: A function version's logical id ends in a hash of the function's code and configuration
#: (``FnCurrentVersion1A2B3C4D<32 hex>``), so it changes with any runtime/ edit.
_VERSION_HASH = re.compile(r"(CurrentVersion[0-9A-F]{8})[0-9a-f]{32}\b")
_BOOTSTRAP_NOISE = {"Parameters": "BootstrapVersion", "Rules": "CheckBootstrapVersion"}


def _replace_hashes(value: Any) -> Any:
    if isinstance(value, str):
        return _VERSION_HASH.sub(r"\1[CODE-HASH]", _ASSET_HASH.sub("[ASSET-HASH]", value))
    if isinstance(value, list):
        return [_replace_hashes(item) for item in value]
    if isinstance(value, dict):
        return {_replace_hashes(key): _replace_hashes(item) for key, item in value.items()}
    return value


def normalize_template(template: dict[str, Any]) -> dict[str, Any]:
    """Replaces asset hashes and drops the bootstrap-version parameter and rule."""
    result = copy.deepcopy(template)
    for section, name in _BOOTSTRAP_NOISE.items():
        result.get(section, {}).pop(name, None)
        if section in result and not result[section]:
            del result[section]
    normalized: dict[str, Any] = _replace_hashes(result)
    return normalized
