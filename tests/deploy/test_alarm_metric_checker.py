"""The alarm metric checker itself: it accepts right alarms and rejects each kind of wrong one.

Hand-made templates hold one of each resource our alarms name (a function with a version and
an alias, a queue, a custom bus with a rule, a rule on the default bus, a REST API and its
stage) and one alarm under test.
"""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.deploy.alarm_metrics import (
    check_alarm,
    check_dimension_names,
    check_statistic,
    check_template,
)
from tests.deploy.intrinsics import resolve
from tests.deploy.published_metrics import PUBLISHED_METRICS, STANDARD_STATISTICS

RESOURCES: dict[str, Any] = {
    "Fn": {"Type": "AWS::Lambda::Function", "Properties": {}},
    "FnVersion": {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "Fn"}}},
    "FnAlias": {
        "Type": "AWS::Lambda::Alias",
        "Properties": {
            "FunctionName": {"Ref": "Fn"},
            "FunctionVersion": {"Fn::GetAtt": ["FnVersion", "Version"]},
            "Name": "live",
        },
    },
    "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
    "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "orders"}},
    "BusRule": {"Type": "AWS::Events::Rule", "Properties": {"EventBusName": {"Ref": "Bus"}}},
    "DefaultRule": {"Type": "AWS::Events::Rule", "Properties": {}},
    "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "orders-api"}},
    "ApiStage": {
        "Type": "AWS::ApiGateway::Stage",
        "Properties": {"RestApiId": {"Ref": "Api"}, "StageName": "prod"},
    },
}

REF_FN = {"Ref": "Fn"}
VERSION = {"Fn::GetAtt": ["FnVersion", "Version"]}
ALIAS_RESOURCE = {"Fn::Join": ["", [REF_FN, ":live"]]}
QUEUE_NAME = {"Fn::GetAtt": ["Queue", "QueueName"]}


def bare_name_of_either_bus(rule: str) -> dict[str, Any]:
    """The rule's bare name whatever its bus: the second part of ``<Ref>|<Ref>``."""
    ref = {"Ref": rule}
    return {"Fn::Select": [1, {"Fn::Split": ["|", {"Fn::Join": ["|", [ref, ref]]}]}]}


BARE_RULE_NAME = {"Fn::Select": [1, {"Fn::Split": ["|", {"Ref": "BusRule"}]}]}


def alarm(namespace: str, metric_name: str, statistic: str, **dimensions: Any) -> dict[str, Any]:
    """Properties of a single-metric alarm (``p99``-style statistics become extended)."""
    key = "ExtendedStatistic" if statistic.startswith("p") else "Statistic"
    return {
        "Namespace": namespace,
        "MetricName": metric_name,
        key: statistic,
        "Dimensions": [{"Name": name, "Value": value} for name, value in dimensions.items()],
    }


def rate_alarm(metric: dict[str, Any], stat: str) -> dict[str, Any]:
    """Properties of a math-expression alarm reading one ``MetricStat``, as CDK renders them."""
    return {
        "Metrics": [
            {"Id": "expr_1", "Expression": "errors * 100", "ReturnData": True},
            {
                "Id": "errors",
                "MetricStat": {"Metric": metric, "Period": 60, "Stat": stat},
                "ReturnData": False,
            },
        ]
    }


def problems_of(alarm_properties: dict[str, Any], **resources: Any) -> list[str]:
    template = {
        "Resources": {
            **RESOURCES,
            **resources,
            "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": alarm_properties},
        }
    }
    return check_alarm(template, "Alarm")


GOOD = {
    "queue visible messages": alarm(
        "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", QueueName=QUEUE_NAME
    ),
    "function errors": alarm("AWS/Lambda", "Errors", "Sum", FunctionName=REF_FN),
    "function errors by literal name": alarm(
        "AWS/Lambda", "Errors", "Sum", FunctionName="orders-fn"
    ),
    "alias errors": alarm(
        "AWS/Lambda", "Errors", "Sum", FunctionName=REF_FN, Resource=ALIAS_RESOURCE
    ),
    "version errors": alarm(
        "AWS/Lambda",
        "Errors",
        "Sum",
        FunctionName=REF_FN,
        Resource={"Fn::Join": ["", [REF_FN, ":", VERSION]]},
    ),
    "errors of an older version by number": alarm(
        "AWS/Lambda",
        "Errors",
        "Sum",
        FunctionName=REF_FN,
        Resource={"Fn::Join": ["", [REF_FN, ":3"]]},
    ),
    "new version p99 duration through the alias": alarm(
        "AWS/Lambda",
        "Duration",
        "p99",
        FunctionName=REF_FN,
        Resource=ALIAS_RESOURCE,
        ExecutedVersion=VERSION,
    ),
    "custom-bus rule by bare name": alarm(
        "AWS/Events",
        "FailedInvocations",
        "Sum",
        EventBusName={"Ref": "Bus"},
        RuleName=BARE_RULE_NAME,
    ),
    "custom-bus rule by the second part of Ref|Ref": alarm(
        "AWS/Events",
        "InvocationsFailedToBeSentToDlq",
        "Sum",
        EventBusName={"Ref": "Bus"},
        RuleName=bare_name_of_either_bus("BusRule"),
    ),
    "default-bus rule by the second part of Ref|Ref": alarm(
        "AWS/Events", "ThrottledRules", "Sum", RuleName=bare_name_of_either_bus("DefaultRule")
    ),
    "default-bus rule by Ref": alarm(
        "AWS/Events", "ThrottledRules", "Sum", RuleName={"Ref": "DefaultRule"}
    ),
    "api stage latency": alarm(
        "AWS/ApiGateway", "Latency", "p99", ApiName="orders-api", Stage="prod"
    ),
    "api 5xx rate": rate_alarm(
        {
            "Namespace": "AWS/ApiGateway",
            "MetricName": "5XXError",
            "Dimensions": [
                {"Name": "ApiName", "Value": "orders-api"},
                {"Name": "Stage", "Value": "prod"},
            ],
        },
        "Average",
    ),
}


@pytest.mark.parametrize("name", GOOD)
def test_a_right_alarm_has_no_problem(name: str) -> None:
    assert problems_of(GOOD[name]) == []


def test_a_named_rule_on_a_custom_bus_is_checked_by_its_name() -> None:
    named = {
        "Type": "AWS::Events::Rule",
        "Properties": {"Name": "placed", "EventBusName": "orders"},
    }
    right = alarm(
        "AWS/Events", "FailedInvocations", "Sum", EventBusName="orders", RuleName="placed"
    )
    wrong = alarm(
        "AWS/Events", "FailedInvocations", "Sum", EventBusName="orders", RuleName={"Ref": "Named"}
    )
    assert problems_of(right, Named=named) == []
    assert "publishes the bare rule name" in problems_of(wrong, Named=named)[0]


BAD = {
    "wrong namespace": (
        alarm("AWS/SQS", "Errors", "Sum", FunctionName=REF_FN),
        "Errors is a metric of AWS/Lambda",
    ),
    "misspelled metric": (
        alarm("AWS/SQS", "ApproximateNumberOfMessageVisible", "Maximum", QueueName=QUEUE_NAME),
        "no row for AWS/SQS ApproximateNumberOfMessageVisible",
    ),
    "unknown namespace": (
        alarm("AWS/DynamoDB", "ThrottledRequests", "Sum", TableName="t"),
        "no row for AWS/DynamoDB ThrottledRequests",
    ),
    "extra dimension": (
        alarm(
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            "Maximum",
            QueueName=QUEUE_NAME,
            FunctionName=REF_FN,
        ),
        "dimensions {FunctionName, QueueName} are not published",
    ),
    "missing dimension (SQS)": (
        alarm("AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum"),
        "dimensions {} are not published",
    ),
    "missing dimension (EventBridge bus without rule)": (
        alarm("AWS/Events", "FailedInvocations", "Sum", EventBusName={"Ref": "Bus"}),
        "dimensions {EventBusName} are not published",
    ),
    "version without alias": (
        alarm("AWS/Lambda", "Errors", "Sum", FunctionName=REF_FN, ExecutedVersion=VERSION),
        "dimensions {ExecutedVersion, FunctionName} are not published",
    ),
    "percentile on a queue": (
        alarm("AWS/SQS", "ApproximateAgeOfOldestMessage", "p99", QueueName=QUEUE_NAME),
        "statistic 'p99' does not apply",
    ),
    "average of function errors": (
        alarm("AWS/Lambda", "Errors", "Average", FunctionName=REF_FN),
        "statistic 'Average' does not apply",
    ),
    "Ref on a custom-bus rule": (
        alarm(
            "AWS/Events",
            "FailedInvocations",
            "Sum",
            EventBusName={"Ref": "Bus"},
            RuleName={"Ref": "BusRule"},
        ),
        "RuleName is Ref of rule BusRule on custom bus 'orders'",
    ),
    "custom-bus rule without its bus": (
        alarm("AWS/Events", "FailedInvocations", "Sum", RuleName=BARE_RULE_NAME),
        "rule BusRule is on custom bus 'orders'",
    ),
    "default-bus rule with a bus": (
        alarm(
            "AWS/Events",
            "FailedInvocations",
            "Sum",
            EventBusName={"Ref": "Bus"},
            RuleName={"Ref": "DefaultRule"},
        ),
        "rule DefaultRule is on the default bus",
    ),
    "another bus": (
        alarm(
            "AWS/Events", "FailedInvocations", "Sum", EventBusName="other", RuleName=BARE_RULE_NAME
        ),
        "EventBusName 'other' is not the bus of rule BusRule",
    ),
    "QueueName as a Ref": (
        alarm("AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum", QueueName={"Ref": "Queue"}),
        "QueueName is Ref of queue Queue, which is its URL",
    ),
    "QueueName of no queue": (
        alarm("AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum", QueueName="elsewhere"),
        "is not the name of a queue of this stack",
    ),
    "ApiName as the RestApi id": (
        alarm("AWS/ApiGateway", "Latency", "p99", ApiName={"Ref": "Api"}, Stage="prod"),
        "ApiName is Ref of RestApi Api, which is its id",
    ),
    "ApiName of no API": (
        alarm("AWS/ApiGateway", "Latency", "p99", ApiName="orders", Stage="prod"),
        "is not the name of a RestApi of this stack",
    ),
    "another stage": (
        alarm("AWS/ApiGateway", "Latency", "p99", ApiName="orders-api", Stage="dev"),
        "Stage 'dev' is not a stage of RestApi Api",
    ),
    "per-method metrics without detailed metrics": (
        alarm(
            "AWS/ApiGateway",
            "Latency",
            "p99",
            ApiName="orders-api",
            Stage="prod",
            Method="GET",
            Resource="/orders",
        ),
        "per-method metrics need detailed CloudWatch metrics",
    ),
    "FunctionName as the function ARN": (
        alarm("AWS/Lambda", "Errors", "Sum", FunctionName={"Fn::GetAtt": ["Fn", "Arn"]}),
        "is not a function name",
    ),
    "Resource of another alias": (
        alarm(
            "AWS/Lambda",
            "Errors",
            "Sum",
            FunctionName=REF_FN,
            Resource={"Fn::Join": ["", [REF_FN, ":prod"]]},
        ),
        "Resource qualifier 'prod' is neither an alias nor a version",
    ),
    "Resource as the alias ARN": (
        alarm("AWS/Lambda", "Errors", "Sum", FunctionName=REF_FN, Resource={"Ref": "FnAlias"}),
        "is not '<function name>:<alias or version>'",
    ),
    "ExecutedVersion with a version Resource": (
        alarm(
            "AWS/Lambda",
            "Errors",
            "Sum",
            FunctionName=REF_FN,
            Resource={"Fn::Join": ["", [REF_FN, ":", VERSION]]},
            ExecutedVersion=VERSION,
        ),
        "ExecutedVersion is published for invocations of an alias",
    ),
    "ExecutedVersion the alias does not route to": (
        alarm(
            "AWS/Lambda",
            "Duration",
            "p99",
            FunctionName=REF_FN,
            Resource=ALIAS_RESOURCE,
            ExecutedVersion="7",
        ),
        "ExecutedVersion '7' is not a version alias 'live' routes to",
    ),
    "unresolvable value": (
        alarm("AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum", QueueName={"Ref": "Nope"}),
        "cannot be resolved",
    ),
    "math expression over a wrong metric": (
        rate_alarm(
            {
                "Namespace": "AWS/ApiGateway",
                "MetricName": "5XXError",
                "Dimensions": [{"Name": "ApiName", "Value": {"Ref": "Api"}}],
            },
            "Average",
        ),
        "Metrics[errors] AWS/ApiGateway 5XXError: ApiName is Ref of RestApi Api",
    ),
    "no metric at all": ({"Metrics": [{"Id": "q", "Expression": "SELECT 1"}]}, "reads no metric"),
}


@pytest.mark.parametrize("name", BAD)
def test_a_wrong_alarm_is_rejected_saying_why(name: str) -> None:
    alarm_properties, why = BAD[name]
    problems = problems_of(alarm_properties)
    assert len(problems) == 1, problems
    assert why in problems[0]


def test_template_problems_name_the_stack_and_the_alarm() -> None:
    bad, _ = BAD["Ref on a custom-bus rule"]
    template = {
        "Resources": {
            **RESOURCES,
            "RuleAlarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": bad},
        }
    }
    [problem] = check_template("Stack-A", template)
    assert problem.startswith("Stack-A: alarm RuleAlarm: metric AWS/Events FailedInvocations: ")


# --- properties over the whole table ---------------------------------------------------------

ROWS = sorted(PUBLISHED_METRICS.values(), key=lambda row: (row.namespace, row.metric_name))
DIMENSION_NAMES = sorted({name for row in ROWS for names in row.dimension_sets for name in names})
NAMES = st.sampled_from(DIMENSION_NAMES) | st.text(string.ascii_letters, min_size=1, max_size=12)


@given(row=st.sampled_from(ROWS), names=st.frozensets(NAMES, max_size=5))
def test_only_a_published_dimension_set_is_accepted(row: Any, names: frozenset[str]) -> None:
    accepted = check_dimension_names(row, sorted(names)) == []
    assert accepted == (names in row.dimension_sets)


@given(row=st.sampled_from(ROWS), statistic=st.text(max_size=8).filter(lambda s: s[:1] != "p"))
def test_only_a_statistic_the_page_names_is_accepted(row: Any, statistic: str) -> None:
    assert (check_statistic(row, statistic) == []) == (statistic in row.statistics)
    assert row.statistics <= STANDARD_STATISTICS


@given(
    row=st.sampled_from(ROWS),
    whole=st.integers(min_value=0, max_value=99),
    tenths=st.none() | st.integers(min_value=0, max_value=9),
)
def test_a_percentile_is_accepted_only_where_the_page_allows_it(
    row: Any, whole: int, tenths: int | None
) -> None:
    statistic = f"p{whole}" if tenths is None else f"p{whole}.{tenths}"
    assert (check_statistic(row, statistic) == []) == row.percentiles


BUS_OR_RULE_NAME = st.text(string.ascii_letters + string.digits + "._-", min_size=1, max_size=64)
CUSTOM_BUS_NAME = BUS_OR_RULE_NAME.filter(lambda name: name != "default")


@given(bus=CUSTOM_BUS_NAME, rule=BUS_OR_RULE_NAME)
def test_the_bare_name_of_a_custom_bus_rule_is_its_name_and_its_ref_is_bus_bar_name(
    bus: str, rule: str
) -> None:
    template = {
        "Resources": {
            "B": {"Type": "AWS::Events::EventBus", "Properties": {"Name": bus}},
            "R": {
                "Type": "AWS::Events::Rule",
                "Properties": {"Name": rule, "EventBusName": {"Ref": "B"}},
            },
        }
    }
    assert resolve(template, {"Ref": "R"}) == f"{bus}|{rule}"
    bare = {"Fn::Select": [1, {"Fn::Split": ["|", {"Ref": "R"}]}]}
    assert resolve(template, bare) == rule
    on_bus = alarm("AWS/Events", "ThrottledRules", "Sum", EventBusName={"Ref": "B"}, RuleName=bare)
    assert (
        check_alarm(
            {
                "Resources": {
                    **template["Resources"],
                    "A": {"Type": "AWS::CloudWatch::Alarm", "Properties": on_bus},
                }
            },
            "A",
        )
        == []
    )
