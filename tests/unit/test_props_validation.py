"""Misspelled ``*_props`` keys: a ValueError naming the construct path, the key and the closest
keyword, instead of jsii's bare TypeError."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from hypothesis import given, settings
from hypothesis import strategies as st

from serverless_patterns.constructs import (
    BaselineFunction,
    CanaryApi,
    EventBusFanOut,
    IdempotencyTable,
    QueueWorker,
    WebhookSender,
)
from serverless_patterns.constructs._queue import dead_letter_queue, source_queue
from serverless_patterns.constructs._validation import check_prop_keys, keyword_arguments

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return None\n")
#: The aws_cdk classes our ``*_props`` arguments go to.
TARGETS = (lambda_.Function, sqs.Queue)


def test_keywords_are_the_props_of_the_class() -> None:
    function_keywords = keyword_arguments(lambda_.Function)
    assert {"timeout", "memory_size", "environment", "reserved_concurrent_executions"} <= (
        function_keywords
    )
    assert {"retention_period", "encryption", "visibility_timeout"} <= keyword_arguments(sqs.Queue)
    assert not {"self", "scope", "id"} & function_keywords


@settings(deadline=None)
@given(target=st.sampled_from(TARGETS), data=st.data())
def test_any_key_outside_the_signature_raises_naming_it(target: Any, data: st.DataObject) -> None:
    key = data.draw(st.text(min_size=1).filter(lambda k: k not in keyword_arguments(target)))
    with pytest.raises(ValueError) as raised:
        check_prop_keys("App/Stack/Thing", "some_props", {key: 1}, target)
    message = str(raised.value)
    assert message.startswith("App/Stack/Thing: some_props[")
    assert repr(key) in message


@settings(deadline=None)
@given(target=st.sampled_from(TARGETS), data=st.data())
def test_every_real_keyword_is_accepted(target: Any, data: st.DataObject) -> None:
    keys = data.draw(st.sets(st.sampled_from(sorted(keyword_arguments(target))), min_size=1))
    check_prop_keys("App/Stack/Thing", "some_props", dict.fromkeys(keys), target)


def test_no_props_are_accepted() -> None:
    check_prop_keys("App/Stack/Thing", "some_props", None, lambda_.Function)
    check_prop_keys("App/Stack/Thing", "some_props", {}, lambda_.Function)


def test_the_closest_keyword_is_suggested() -> None:
    with pytest.raises(ValueError, match=r"did you mean 'memory_size'\?$"):
        check_prop_keys("A", "function_props", {"memory_sise": 512}, lambda_.Function)


def test_no_suggestion_when_nothing_is_close() -> None:
    with pytest.raises(ValueError) as raised:
        check_prop_keys("A", "function_props", {"zzzzzzzzzz": 1}, lambda_.Function)
    assert str(raised.value) == (
        "A: function_props['zzzzzzzzzz'] is not an argument of aws_lambda.Function"
    )


# --- the constructs ---------------------------------------------------------------------------


def test_baseline_function(stack: Stack) -> None:
    with pytest.raises(
        ValueError,
        match=r"^Test/Fn: function_props\['timout'\] is not an argument of aws_lambda.Function; "
        r"did you mean 'timeout'\?$",
    ):
        BaselineFunction(
            stack,
            "Fn",
            code=CODE,
            handler="index.handler",
            function_props={"timout": Duration.seconds(5)},
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"function_props": {"memory": 512}},
            r"^Test/Worker: function_props\['memory'\] is not an argument of "
            r"aws_lambda.Function; did you mean 'memory_size'\?$",
        ),
        (
            {"queue_props": {"retention": Duration.days(1)}},
            r"^Test/Worker: queue_props\['retention'\] is not an argument of aws_sqs.Queue; "
            r"did you mean 'retention_period'\?$",
        ),
        (
            {"dead_letter_queue_props": {"encryption_master_keys": None}},
            r"^Test/Worker: dead_letter_queue_props\['encryption_master_keys'\] is not an "
            r"argument of aws_sqs.Queue; did you mean 'encryption_master_key'\?$",
        ),
    ],
)
def test_queue_worker(stack: Stack, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        QueueWorker(stack, "Worker", code=CODE, handler="index.handler", **kwargs)
    worker = stack.node.find_child("Worker")
    assert worker.node.children == [], "checked before any resource exists"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"function_props": {"reserved_concurrency": 5}},
            r"^Test/Sender: function_props\['reserved_concurrency'\] .* did you mean "
            r"'reserved_concurrent_executions'\?$",
        ),
        (
            {"queue_props": {"retention_periode": Duration.days(1)}},
            r"^Test/Sender: queue_props\['retention_periode'\] .* did you mean "
            r"'retention_period'\?$",
        ),
    ],
)
def test_webhook_sender(stack: Stack, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WebhookSender(stack, "Sender", code=CODE, **kwargs)
    assert stack.node.find_child("Sender").node.children == []


def test_queue_building_blocks_name_their_argument(stack: Stack) -> None:
    """Every pattern's queues (worker, receiver, event-target dead-letter queues) are built by
    these two functions."""
    with pytest.raises(
        ValueError, match=r"^Test/Dlq: dead_letter_queue_props\['retention'\] is not an argument"
    ):
        dead_letter_queue(stack, "Dlq", fifo=False, props={"retention": Duration.days(1)})
    dlq = dead_letter_queue(stack, "Dlq2", fifo=False)
    with pytest.raises(ValueError, match=r"^Test/Queue: queue_props\['fif'\] .* 'fifo'\?$"):
        source_queue(
            stack,
            "Queue",
            fifo=False,
            visibility_timeout=Duration.seconds(30),
            dead_letter=dlq,
            max_receive_count=5,
            props={"fif": True},
        )


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda stack: EventBusFanOut(stack, "Bus", event_bus_props={"event_bus_nam": "orders"}),
            r"^Test/Bus: event_bus_props\['event_bus_nam'\] is not an argument of "
            r"aws_events.EventBus; did you mean 'event_bus_name'\?$",
        ),
        (
            lambda stack: IdempotencyTable(stack, "Table", table_props={"table_nme": "t"}),
            r"^Test/Table: table_props\['table_nme'\] is not an argument of "
            r"aws_dynamodb.Table; did you mean 'table_name'\?$",
        ),
        (
            lambda stack: CanaryApi(
                stack,
                "Api",
                code=CODE,
                handler="index.handler",
                rest_api_props={"rest_api_nme": "orders"},
            ),
            r"^Test/Api: rest_api_props\['rest_api_nme'\] is not an argument of "
            r"aws_apigateway.RestApi; did you mean 'rest_api_name'\?$",
        ),
    ],
    ids=["EventBusFanOut", "IdempotencyTable", "CanaryApi"],
)
def test_other_props_arguments(
    stack: Stack, build: Callable[[Stack], object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build(stack)
