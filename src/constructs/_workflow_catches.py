"""Finds Catch rules that would keep a failed execution from being redriven.

"Redriving executions" (Step Functions guide): only an execution that fails, times out or is
aborted can be redriven. A catch-all Catch (``States.ALL``) that routes to a Fail state ends the
execution through the Fail state instead of the error that caused it, so the step that failed
is never retried by a redrive: the execution restarts at the Fail state and fails again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from aws_cdk import aws_stepfunctions as sfn

CATCH_ALL = "States.ALL"


def blocking_catches(states: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """``"<state> -> <fail state>"`` for each catch-all Catch leading (through Pass states
    only) to a Fail state, in ``states`` (ASL ``States``) and in nested Parallel branches and
    Map processors."""
    found: list[str] = []
    for name, state in states.items():
        for catch in state.get("Catch") or ():
            if CATCH_ALL in (catch.get("ErrorEquals") or ()):
                fail = _fail_through_passes(states, catch.get("Next"))
                if fail is not None:
                    found.append(f"{name} -> {fail}")
        for nested in _nested_state_sets(state):
            found.extend(blocking_catches(nested))
    return found


def _fail_through_passes(states: Mapping[str, Mapping[str, Any]], name: object) -> str | None:
    seen: set[str] = set()
    while isinstance(name, str) and name in states and name not in seen:
        seen.add(name)
        state = states[name]
        if state.get("Type") == "Fail":
            return name
        if state.get("Type") != "Pass":
            return None
        name = state.get("Next")
    return None


def _nested_state_sets(state: Mapping[str, Any]) -> Iterator[Mapping[str, Mapping[str, Any]]]:
    for branch in state.get("Branches") or ():
        yield branch.get("States") or {}
    for key in ("ItemProcessor", "Iterator"):
        processor = state.get(key)
        if isinstance(processor, Mapping):
            yield processor.get("States") or {}


def reachable_states(definition: sfn.IChainable) -> dict[str, Mapping[str, Any]]:
    """The ASL of every state reachable from ``definition``'s start, error handlers included,
    by state name."""
    return {
        state.state_id: state.to_state_json()
        for state in sfn.State.find_reachable_states(
            definition.start_state, include_error_handlers=True
        )
    }
