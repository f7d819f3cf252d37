"""Every alarm of every reference stack names a metric its service really publishes.

CloudWatch accepts an alarm on a metric nobody publishes; such an alarm never fires. Each
alarm's namespace, metric name, dimension names and statistic are checked against
``published_metrics.PUBLISHED_METRICS`` (one AWS page per row), and each dimension value is
resolved against the template and compared with what the service puts there.
"""

from __future__ import annotations

from typing import Any

from tests.deploy.alarm_metrics import VALUE_CHECKS, alarm_ids, alarm_metrics, check_template
from tests.deploy.intrinsics import properties
from tests.deploy.published_metrics import PUBLISHED_METRICS


def test_every_reference_alarm_names_a_metric_its_service_publishes(
    reference_templates: dict[str, dict[str, Any]],
) -> None:
    problems = [
        problem
        for stack_name, template in sorted(reference_templates.items())
        for problem in check_template(stack_name, template)
    ]
    assert not problems, "\n".join(problems)


def test_the_walk_reads_a_metric_of_every_reference_alarm(
    reference_templates: dict[str, dict[str, Any]],
) -> None:
    """The check above is not vacuous: every stack has alarms, each reads a metric."""
    for stack_name, template in reference_templates.items():
        alarms = list(alarm_ids(template))
        assert alarms, f"{stack_name} has no alarm"
        for alarm in alarms:
            assert alarm_metrics(properties(template, alarm)), f"{stack_name} {alarm}"


def test_every_table_row_cites_an_aws_page_and_has_a_value_check() -> None:
    for (namespace, metric_name), row in PUBLISHED_METRICS.items():
        assert (row.namespace, row.metric_name) == (namespace, metric_name)
        assert row.page.url.startswith("https://docs.aws.amazon.com/"), row
        assert row.page.title, row
        assert row.dimension_sets and row.statistics, row
        assert namespace in VALUE_CHECKS, namespace
