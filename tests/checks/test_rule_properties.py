"""Property tests: no rule of the pack throws on any value in any property it reads, and a
value known only at deploy time is never a finding.

Each example loads ``compliant_template()`` with CfnInclude after putting generated values
into properties the rules read (``READ_PATHS``), then runs the pack. Examples are few because
each one synthesizes through jsii (about a second); the parametrized test in
test_template_forms.py covers every path with every intrinsic function deterministically.

The same properties hold for the pack as it runs at synth, over template files
(``template_file_violations``): those examples need no synth, so there are many more, and
they reach values aws-cdk-lib would refuse to load.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import App, Stack
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from serverless_patterns.checks import ServerlessPatternsChecks
from tests.checks.templates import (
    READ_PATHS,
    THROWN,
    compliant_template,
    include,
    pack_findings,
    thrown,
    with_value,
)
from tests.checks.views import template_file_violations
from tests.conftest import new_app

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

paths = st.sampled_from(READ_PATHS)
texts = st.text(max_size=40)


def deploy_time_values() -> st.SearchStrategy[Any]:
    """Intrinsic functions whose value, and every prefix of it, is decided at deploy time:
    parameters, imports and conditions, nested in Fn::Sub / Fn::Join / Fn::Select / Fn::If."""
    leaves = st.sampled_from(
        [
            {"Ref": "Name"},
            {"Ref": "Count"},
            {"Fn::ImportValue": "shared-value"},
            {"Fn::FindInMap": ["Settings", {"Ref": "Name"}, "Value"]},
            {"Fn::GetAZs": ""},
        ]
    )
    any_value = st.one_of(texts, st.integers(), leaves)

    def extend(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(
            st.tuples(inner, any_value).map(lambda p: {"Fn::If": ["IsProd", p[0], p[1]]}),
            st.tuples(inner, any_value).map(lambda p: {"Fn::If": ["IsProd", p[1], p[0]]}),
            st.tuples(inner, texts).map(
                lambda p: {"Fn::Sub": ["${V}" + p[1].replace("$", ""), {"V": p[0]}]}
            ),
            st.tuples(texts, inner, st.lists(st.one_of(texts, inner), max_size=3)).map(
                lambda p: {"Fn::Join": [p[0], [p[1], *p[2]]]}
            ),
            inner.map(lambda v: {"Fn::Select": [0, {"Fn::Split": [",", v]}]}),
            inner.map(lambda v: {"Fn::Base64": v}),
        )

    return st.recursive(leaves, extend, max_leaves=4)


def any_values() -> st.SearchStrategy[Any]:
    """Strings, JSON strings, numbers, lists and objects, intrinsic-looking or not."""
    json_like = st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), texts),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(texts, inner, max_size=3)
        ),
        max_leaves=6,
    )
    number_like = st.from_regex(r"\s*-?[0-9\u00b9\u00b2\u0660-\u0669]{1,4}(\.[0-9]+)?\s*")
    return st.one_of(
        texts,
        number_like,  # what str.isdigit accepts is not all int() does
        json_like.map(json.dumps),
        json_like,
        st.sampled_from(["Fn::If", "Fn::Sub", "Fn::Join", "Ref", "Fn::GetAtt"]).flatmap(
            lambda key: json_like.map(lambda argument: {key: argument})
        ),
        deploy_time_values(),
    )


def substituted(changes: list[tuple[tuple[str | int, ...], Any]]) -> dict[str, Any]:
    template = compliant_template()
    for path, value in sorted(changes, key=lambda c: len(c[0]), reverse=True):
        template = with_value(template, path, value)  # deepest first: parents replace them
    return template


def findings_of(template: dict[str, Any]) -> list[Any] | None:
    """The pack's findings, or None when CfnInclude rejects the template (a type it parses
    strictly, such as a boolean where a list is expected)."""
    app = new_app()
    try:
        include(Stack(app, "Included"), template)
    except RuntimeError:
        return None
    return pack_findings(app)


@PROPERTY
@given(changes=st.lists(st.tuples(paths, deploy_time_values()), min_size=1, max_size=3))
def test_values_known_only_at_deploy_time_are_never_findings(
    changes: list[tuple[tuple[str | int, ...], Any]],
) -> None:
    findings = findings_of(substituted(changes))
    assert findings == []


@PROPERTY
@given(changes=st.lists(st.tuples(paths, any_values()), min_size=1, max_size=3))
def test_no_rule_throws_on_any_value_of_a_property_it_reads(
    changes: list[tuple[tuple[str | int, ...], Any]],
) -> None:
    findings = findings_of(substituted(changes))
    assume(findings is not None)
    assert findings is not None
    assert thrown(findings) == []


AT_SYNTH = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: One app for every example: the synth view reads only acknowledgments above the stack from it.
_APP = App()


@AT_SYNTH
@given(changes=st.lists(st.tuples(paths, deploy_time_values()), min_size=1, max_size=3))
def test_at_synth_values_known_only_at_deploy_time_are_never_findings(
    changes: list[tuple[tuple[str | int, ...], Any]],
) -> None:
    template = substituted(changes)
    assert template_file_violations(ServerlessPatternsChecks(), _APP, template) == []


@AT_SYNTH
@given(changes=st.lists(st.tuples(paths, any_values()), min_size=1, max_size=3))
def test_at_synth_no_rule_throws_on_any_value_of_a_property_it_reads(
    changes: list[tuple[tuple[str | int, ...], Any]],
) -> None:
    template = substituted(changes)
    found = template_file_violations(ServerlessPatternsChecks(), _APP, template)
    assert [v for v in found if v.description.startswith(THROWN)] == []
