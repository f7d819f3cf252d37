"""Approval callback behind API Gateway (REST proxy): verify, then SendTaskSuccess/Failure.

Configured by the environment; see ``serverless_patterns.runtime.workflows.callback``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from serverless_patterns.runtime.api.router import Router
from serverless_patterns.runtime.workflows.callback import router_from_environment


@functools.cache
def default_router() -> Router:
    """The container's router (and its secret cache), built from the environment once."""
    return router_from_environment()


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point."""
    return default_router().handler(event, context)
