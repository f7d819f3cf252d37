"""Which findings are acknowledged: the ids ``Validations.of(c).acknowledge`` records on a
construct, read the way cdk-nag 3.0.2 reads them (``NagPack.isAcknowledged``, lib/nag-pack.js).

aws-cdk-lib records an id without a namespace as ``Annotation::<id>``; cdk-nag drops that
prefix (any case) and compares the rest with the finding's id (``<Pack>-<Rule>``, or
``<Pack>-<Rule>[<part>]`` for one part of a rule), on the resource and on every construct
above it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from constructs import IConstruct

#: The construct metadata entry type holding acknowledged rule ids (``Validations``).
ACKNOWLEDGED_RULES = "aws:cdk:acknowledged-rules"
_ANNOTATION_PREFIX = re.compile(r"^annotation::", re.IGNORECASE)


def rule_ids(data: Any) -> frozenset[str]:
    """The rule ids of one acknowledged-rules metadata entry (a map of id to reason)."""
    if not isinstance(data, Mapping):
        return frozenset()
    return frozenset(_ANNOTATION_PREFIX.sub("", str(key)) for key in data)


def ancestors(path: str) -> list[str]:
    """``path`` and every construct path above it, the root (``""``) last."""
    found = [path]
    while path:
        path = path.rpartition("/")[0]
        found.append(path)
    return found


def is_acknowledged(rule_id: str, path: str, acknowledged: Mapping[str, frozenset[str]]) -> bool:
    """Whether ``rule_id`` is acknowledged at ``path`` or above it."""
    return any(rule_id in acknowledged.get(above, ()) for above in ancestors(path))


def acknowledged_in_tree(root: IConstruct, paths: set[str]) -> dict[str, frozenset[str]]:
    """The ids acknowledged on the constructs at ``paths`` (``""`` is ``root``), read from the
    construct tree; a path with no construct has none."""
    found: dict[str, frozenset[str]] = {}
    for path in paths:
        construct: IConstruct | None = root
        for part in path.split("/") if path else ():
            construct = construct.node.try_find_child(part) if construct is not None else None
        if construct is None:
            continue
        found[path] = frozenset().union(
            *(rule_ids(e.data) for e in construct.node.metadata if e.type == ACKNOWLEDGED_RULES)
        )
    return found
