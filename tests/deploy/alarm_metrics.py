"""Check that an alarm names a metric its service really publishes, with the right values.

CloudWatch accepts an alarm on any namespace, metric name and dimensions, published or not; an
alarm on a metric that never gets data stays in OK (our alarms treat missing data as not
breaching) and can never fire. So every alarm is checked against ``PUBLISHED_METRICS``
(namespace, metric name, exact dimension-name set, statistic) and each dimension value is
resolved against the template (``intrinsics.resolve``) and compared with what the service puts
in that dimension.

Each ``check_*`` function returns a list of problems (empty when the alarm is right); the
walker prefixes each with ``<stack>: alarm <logical id>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.deploy.intrinsics import (
    DEFAULT_BUS,
    Template,
    Unresolvable,
    function_name,
    properties,
    queue_name,
    resolve,
    resources,
    rule_bus,
    rule_name,
    rule_ref,
    token,
)
from tests.deploy.published_metrics import PUBLISHED_METRICS, PublishedMetric

ALARM_TYPE = "AWS::CloudWatch::Alarm"

#: A function name as Lambda accepts it in ``FunctionName`` (a name, not an ARN).
_FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: ``pNN`` / ``pNN.N`` percentile statistics.
_PERCENTILE = re.compile(r"^p(100|[0-9]{1,2}(\.[0-9]+)?)$")
#: A published version number (a version this template does not define, e.g. an older one).
_VERSION_NUMBER = re.compile(r"^[0-9]+$")


@dataclass(frozen=True)
class AlarmMetric:
    """One metric an alarm reads: the alarm's own, or one ``MetricStat`` of its ``Metrics``."""

    label: str
    namespace: Any
    metric_name: Any
    dimensions: list[Any] = field(default_factory=list)
    statistic: Any = None


def alarm_metrics(alarm_properties: Mapping[str, Any]) -> list[AlarmMetric]:
    """The metrics an ``AWS::CloudWatch::Alarm`` reads (math expressions read none)."""
    if "Metrics" in alarm_properties:
        return [
            AlarmMetric(
                label=f"Metrics[{query.get('Id')}]",
                namespace=stat.get("Metric", {}).get("Namespace"),
                metric_name=stat.get("Metric", {}).get("MetricName"),
                dimensions=list(stat.get("Metric", {}).get("Dimensions", [])),
                statistic=stat.get("Stat"),
            )
            for query in alarm_properties["Metrics"]
            if (stat := query.get("MetricStat")) is not None
        ]
    if "MetricName" not in alarm_properties:
        return []
    return [
        AlarmMetric(
            label="metric",
            namespace=alarm_properties.get("Namespace"),
            metric_name=alarm_properties.get("MetricName"),
            dimensions=list(alarm_properties.get("Dimensions", [])),
            statistic=alarm_properties.get("Statistic", alarm_properties.get("ExtendedStatistic")),
        )
    ]


def check_template(stack_name: str, template: Template) -> list[str]:
    """Problems of every alarm of ``template``, each prefixed ``<stack>: alarm <logical id>``."""
    return [
        f"{stack_name}: alarm {logical_id}: {problem}"
        for logical_id in alarm_ids(template)
        for problem in check_alarm(template, logical_id)
    ]


def alarm_ids(template: Template) -> Iterator[str]:
    """Logical ids of the template's ``AWS::CloudWatch::Alarm`` resources."""
    return (lid for lid, res in resources(template).items() if res.get("Type") == ALARM_TYPE)


def check_alarm(template: Template, logical_id: str) -> list[str]:
    """Problems of alarm ``logical_id``: of each metric it reads, prefixed with the metric."""
    metrics = alarm_metrics(properties(template, logical_id))
    if not metrics:
        return ["reads no metric (neither MetricName nor a MetricStat in Metrics)"]
    return [
        f"{metric.label} {metric.namespace} {metric.metric_name}: {problem}"
        for metric in metrics
        for problem in check_metric(template, metric)
    ]


def check_metric(template: Template, metric: AlarmMetric) -> list[str]:
    """Problems of one metric: no table row, dimension names, statistic, dimension values."""
    row = PUBLISHED_METRICS.get((metric.namespace, metric.metric_name))
    if row is None:
        return [no_row(metric.namespace, metric.metric_name)]
    names = [dimension.get("Name") for dimension in metric.dimensions]
    problems = check_dimension_names(row, names) + check_statistic(row, metric.statistic)
    if problems:
        return problems
    values = {dimension["Name"]: dimension.get("Value") for dimension in metric.dimensions}
    value_check = VALUE_CHECKS.get(row.namespace)
    if value_check is None:
        return [f"no dimension value check for namespace {row.namespace}: add one"]
    try:
        return value_check(template, values)
    except Unresolvable as error:
        return [f"a dimension value cannot be resolved against the template ({error})"]


def no_row(namespace: Any, metric_name: Any) -> str:
    """Why a metric without a row fails, naming near misses (another namespace, same name)."""
    elsewhere = sorted(ns for ns, name in PUBLISHED_METRICS if name == metric_name)
    known = sorted(name for ns, name in PUBLISHED_METRICS if ns == namespace)
    hint = (
        f"; {metric_name} is a metric of {', '.join(elsewhere)}"
        if elsewhere
        else (f"; known {namespace} metrics: {', '.join(known)}" if known else "")
    )
    return (
        f"no row for {namespace} {metric_name} in tests/deploy/published_metrics.py{hint} "
        "(a new alarm adds its row, checked against the service's metrics page)"
    )


def check_dimension_names(row: PublishedMetric, names: list[Any]) -> list[str]:
    """The dimension names must be one of the sets the service publishes, exactly."""
    if len(set(names)) != len(names):
        return [f"repeats a dimension name: {sorted(map(str, names))}"]
    if frozenset(names) in row.dimension_sets:
        return []
    published = " or ".join(
        "{" + ", ".join(sorted(names_)) + "}"
        for names_ in sorted(row.dimension_sets, key=lambda s: (len(s), sorted(s)))
    )
    return [
        f"dimensions {{{', '.join(sorted(map(str, names)))}}} are not published; "
        f"{row.metric_name} has {published} ({row.page.title}, {row.page.url})"
    ]


def check_statistic(row: PublishedMetric, statistic: Any) -> list[str]:
    """The statistic must be one the page names for the metric (or a percentile, if it may)."""
    if statistic in row.statistics:
        return []
    if row.percentiles and isinstance(statistic, str) and _PERCENTILE.match(statistic):
        return []
    allowed = ", ".join(sorted(row.statistics)) + (" or pNN" if row.percentiles else "")
    return [
        f"statistic {statistic!r} does not apply to {row.metric_name}; use {allowed} "
        f"({row.page.title})"
    ]


# --- dimension values ------------------------------------------------------------------------


def _of_type(template: Template, resource_type: str) -> list[str]:
    return [lid for lid, res in resources(template).items() if res.get("Type") == resource_type]


def check_sqs_values(template: Template, values: Mapping[str, Any]) -> list[str]:
    """``QueueName`` is the queue's name: ``Fn::GetAtt [<queue>, QueueName]``, not ``Ref``
    (which is the queue URL)."""
    name = resolve(template, values["QueueName"])
    queues = _of_type(template, "AWS::SQS::Queue")
    if name in {queue_name(template, queue) for queue in queues}:
        return []
    for queue in queues:
        if name == token("QueueUrl", queue):
            return [
                f"QueueName is Ref of queue {queue}, which is its URL; use "
                f"Fn::GetAtt [{queue}, QueueName]"
            ]
    return [f"QueueName {values['QueueName']!r} is not the name of a queue of this stack"]


def check_lambda_values(template: Template, values: Mapping[str, Any]) -> list[str]:
    """``FunctionName`` is a function's name; ``Resource`` is ``<function name>:<alias or
    version>``; ``ExecutedVersion`` is a version number the alias in ``Resource`` routes to."""
    if "FunctionName" not in values:
        return []
    function = resolve(template, values["FunctionName"])
    functions = {
        function_name(template, lid): lid for lid in _of_type(template, "AWS::Lambda::Function")
    }
    if function not in functions and not _FUNCTION_NAME.match(function):
        return [f"FunctionName {values['FunctionName']!r} is not a function name"]
    if "Resource" not in values:
        return []
    resource = resolve(template, values["Resource"])
    prefix = f"{function}:"
    if not resource.startswith(prefix) or len(resource) == len(prefix):
        return [
            f"Resource {values['Resource']!r} is not '<function name>:<alias or version>' "
            f"of FunctionName {values['FunctionName']!r}"
        ]
    if function not in functions:
        return []  # a function of another stack: only the shape can be checked
    return _check_qualifier(template, functions[function], resource[len(prefix) :], values)


def _check_qualifier(
    template: Template, function: str, qualifier: str, values: Mapping[str, Any]
) -> list[str]:
    """The ``Resource`` qualifier names an alias or version of ``function``; with
    ``ExecutedVersion``, an alias that routes to that version."""
    aliases = _aliases(template, function_name(template, function))
    versions = _versions(template, function_name(template, function))
    if (
        qualifier not in aliases
        and qualifier not in versions
        and not _VERSION_NUMBER.match(qualifier)
    ):
        return [
            f"Resource qualifier {qualifier!r} is neither an alias nor a version of "
            f"function {function}"
        ]
    if "ExecutedVersion" not in values:
        return []
    if qualifier not in aliases:
        return ["ExecutedVersion is published for invocations of an alias; Resource is a version"]
    if resolve(template, values["ExecutedVersion"]) not in aliases[qualifier]:
        return [
            f"ExecutedVersion {values['ExecutedVersion']!r} is not a version alias "
            f"{qualifier!r} routes to"
        ]
    return []


def _aliases(template: Template, function: str) -> dict[str, set[str]]:
    """Alias name -> the versions it routes to, for the aliases of ``function``."""
    found: dict[str, set[str]] = {}
    for alias in _of_type(template, "AWS::Lambda::Alias"):
        props = properties(template, alias)
        if resolve(template, props["FunctionName"]) != function:
            continue
        routing = props.get("RoutingConfig", {}).get("AdditionalVersionWeights", [])
        found[resolve(template, props["Name"])] = {
            resolve(template, props["FunctionVersion"]),
            *(resolve(template, weight["FunctionVersion"]) for weight in routing),
        }
    return found


def _versions(template: Template, function: str) -> set[str]:
    """The version numbers of ``function`` this template publishes."""
    return {
        token("Version", version)
        for version in _of_type(template, "AWS::Lambda::Version")
        if resolve(template, properties(template, version)["FunctionName"]) == function
    }


def check_events_values(template: Template, values: Mapping[str, Any]) -> list[str]:
    """``RuleName`` is the rule's bare name; ``EventBusName`` is present exactly when the rule
    is on a custom bus, and names that bus."""
    name = resolve(template, values["RuleName"])
    rules = _of_type(template, "AWS::Events::Rule")
    matches = [rule for rule in rules if rule_name(template, rule) == name]
    if matches:
        return _check_rule_bus(template, matches[0], values)
    for rule in rules:
        if name == rule_ref(template, rule) and "|" in name:
            return [
                f"RuleName is Ref of rule {rule} on custom bus {rule_bus(template, rule)!r}, "
                f"which returns 'EventBusName|RuleName', but EventBridge publishes the bare "
                f"rule name: use Fn::Select [1, Fn::Split ['|', Ref {rule}]]"
            ]
    return [f"RuleName {values['RuleName']!r} is not the name of a rule of this stack"]


def _check_rule_bus(template: Template, rule: str, values: Mapping[str, Any]) -> list[str]:
    bus = rule_bus(template, rule)
    if "EventBusName" not in values:
        if bus == DEFAULT_BUS:
            return []
        return [
            f"rule {rule} is on custom bus {bus!r}: its metrics have dimensions "
            "EventBusName and RuleName"
        ]
    if bus == DEFAULT_BUS:
        return [f"rule {rule} is on the default bus: its metrics have RuleName only"]
    if resolve(template, values["EventBusName"]) != bus:
        return [f"EventBusName {values['EventBusName']!r} is not the bus of rule {rule} ({bus!r})"]
    return []


def published_api_name(template: Template, rest_api: str) -> str:
    """The ``ApiName`` API Gateway publishes for ``rest_api``: "API Gateway removes non-ASCII
    characters from the ApiName dimension before sending metrics to CloudWatch. If the APIName
    contains no ASCII characters, the API ID is used as the ApiName." """
    name = resolve(template, properties(template, rest_api)["Name"])
    ascii_name = name.encode("ascii", "ignore").decode()
    return ascii_name or token("RestApiId", rest_api)


def check_api_gateway_values(template: Template, values: Mapping[str, Any]) -> list[str]:
    """``ApiName`` is the REST API's name (not its id); ``Stage`` a stage of that API; the
    per-method set needs detailed metrics on that stage."""
    name = resolve(template, values["ApiName"])
    apis = _of_type(template, "AWS::ApiGateway::RestApi")
    matches = [api for api in apis if published_api_name(template, api) == name]
    if not matches:
        for api in apis:
            if name == token("RestApiId", api):
                return [
                    f"ApiName is Ref of RestApi {api}, which is its id; REST API metrics use "
                    f"the API name (its Name property)"
                ]
        return [f"ApiName {values['ApiName']!r} is not the name of a RestApi of this stack"]
    if "Stage" not in values:
        return []
    stage = resolve(template, values["Stage"])
    stages = {s: lid for api in matches for s, lid in _stages(template, api).items()}
    if stage not in stages:
        return [f"Stage {values['Stage']!r} is not a stage of RestApi {', '.join(matches)}"]
    if "Method" in values and not _detailed_metrics(template, stages[stage]):
        return [
            f"per-method metrics need detailed CloudWatch metrics (MetricsEnabled) on stage "
            f"{stages[stage]}"
        ]
    return []


def _stages(template: Template, rest_api: str) -> dict[str, str]:
    """Stage name -> logical id of the resource that creates it, for ``rest_api``."""
    found: dict[str, str] = {}
    for kind in ("AWS::ApiGateway::Stage", "AWS::ApiGateway::Deployment"):
        for lid in _of_type(template, kind):
            props = properties(template, lid)
            if props.get("RestApiId") == {"Ref": rest_api} and "StageName" in props:
                found[resolve(template, props["StageName"])] = lid
    return found


def _detailed_metrics(template: Template, stage: str) -> bool:
    settings = properties(template, stage).get("MethodSettings", [])
    return any(setting.get("MetricsEnabled") is True for setting in settings)


def check_kinesis_values(template: Template, values: Mapping[str, Any]) -> list[str]:
    """``StreamName`` is a stream's name: ``Ref`` of an ``AWS::Kinesis::Stream`` ("Return
    values" of AWS::Kinesis::Stream: Ref returns the stream name)."""
    name = resolve(template, values["StreamName"])
    streams = _of_type(template, "AWS::Kinesis::Stream")
    if name in {resolve(template, {"Ref": stream}) for stream in streams}:
        return []
    return [f"StreamName {values['StreamName']!r} is not the name of a stream of this stack"]


def check_states_values(template: Template, values: Mapping[str, Any]) -> list[str]:
    """``StateMachineArn`` is a state machine's ARN: ``Ref`` of an
    ``AWS::StepFunctions::StateMachine`` ("Return values": Ref returns the ARN)."""
    arn = resolve(template, values["StateMachineArn"])
    machines = _of_type(template, "AWS::StepFunctions::StateMachine")
    if arn in {resolve(template, {"Ref": machine}) for machine in machines}:
        return []
    return [
        f"StateMachineArn {values['StateMachineArn']!r} is not the ARN of a state machine of "
        "this stack"
    ]


#: The dimension value check of each namespace of ``PUBLISHED_METRICS``.
VALUE_CHECKS: dict[str, Callable[[Template, Mapping[str, Any]], list[str]]] = {
    "AWS/SQS": check_sqs_values,
    "AWS/Lambda": check_lambda_values,
    "AWS/Kinesis": check_kinesis_values,
    "AWS/Events": check_events_values,
    "AWS/ApiGateway": check_api_gateway_values,
    "AWS/States": check_states_values,
}
