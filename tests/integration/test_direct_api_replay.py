"""DirectApi's mapping templates, rendered from the synthesized template and replayed to moto.

Every request template is rendered with airspeed-ext for hypothesis bodies (quotes,
backslashes, newlines, unicode, nested JSON), signed with botocore's SigV4 signer and sent to
the moto server over HTTP in the service's protocol (SQS: query; EventBridge: JSON 1.1;
DynamoDB and Step Functions: JSON 1.0); then what arrived is read back and compared with what
the client sent. Response templates are rendered against the services' answers and errors.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from aws_cdk import Environment, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serverless_patterns.constructs import DirectApi, FieldType
from serverless_patterns.constructs.direct_api import MESSAGE_GROUP_PATTERN
from tests.conftest import new_app
from tests.integration.direct_vtl import Input, ServiceCall, render, send_signed
from tests.moto_fixtures import AWS_REGION

ACCOUNT = "123456789012"
QUEUE = "direct-api-queue"
FIFO_QUEUE = "direct-api-queue.fifo"
BUS = "direct-api-bus"
TABLE = "direct-api-table"
MACHINE = "direct-api-machine"
SOURCE = "tests.direct"
DETAIL_TYPE = "Replayed"
FIELDS = {
    "id": FieldType.STRING,
    "name": FieldType.STRING,
    "total": FieldType.NUMBER,
    "gift": FieldType.BOOLEAN,
}
#: Renderings sent to moto and renderings whose content arrived intact, per target.
COUNTS: Counter[str] = Counter()
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

#: Text as clients send it: any character SQS and JSON carry (no lone surrogates, no U+FFFE/F).
TEXT = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\ufffe\uffff"),
    max_size=40,
)
SPICY = st.sampled_from(['"', "\\", "\n", "'", "\\'", '\\"', "é", "😀", "</script>", "\u2028"])
STRINGS = st.one_of(TEXT, st.lists(st.one_of(SPICY, TEXT), max_size=6).map("".join))
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    STRINGS,
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
JSON_VALUES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(STRINGS, inner, max_size=4)
    ),
    max_leaves=12,
)
BODIES = st.dictionaries(STRINGS, JSON_VALUES, max_size=5)
NUMBERS = st.one_of(
    st.integers(-(10**15), 10**15),
    st.floats(-1e9, 1e9, allow_nan=False).filter(lambda x: x == 0 or abs(x) > 1e-9),
)


def client_body(data: Any, indent: int | None) -> str:
    """The request body as a client writes it (sometimes indented, with raw newlines)."""
    return json.dumps(data, ensure_ascii=False, indent=indent)


@pytest.fixture(scope="module")
def request_templates() -> dict[str, tuple[str, str]]:
    """Request and 200 response template of each route, from the synthesized template."""
    stack = Stack(new_app(), "Replay", env=Environment(account=ACCOUNT, region=AWS_REGION))
    api = DirectApi(stack, "Api", cloud_watch_role=False)
    arn = f"arn:aws:sqs:{AWS_REGION}:{ACCOUNT}:{QUEUE}"
    api.add_send_message("Send", path="queue", queue=sqs.Queue.from_queue_arn(stack, "Q", arn))
    api.add_send_message(
        "SendFifo",
        path="fifo",
        queue=sqs.Queue.from_queue_arn(stack, "F", f"{arn.removesuffix(QUEUE)}{FIFO_QUEUE}"),
        message_group_field="group",
    )
    api.add_put_events(
        "Put",
        path="events",
        event_bus=events.EventBus.from_event_bus_name(stack, "B", BUS),
        source=SOURCE,
        detail_type=DETAIL_TYPE,
    )
    table = dynamodb.Table.from_table_name(stack, "T", TABLE)
    api.add_put_item("PutItem", path="items", table=table, key="id", fields=FIELDS)
    api.add_get_item("GetItem", path="items", table=table, key="id", fields=FIELDS)
    machine = sfn.StateMachine.from_state_machine_arn(
        stack, "M", f"arn:aws:states:{AWS_REGION}:{ACCOUNT}:stateMachine:{MACHINE}"
    )
    api.add_start_sync_execution("Run", path="run", state_machine=machine)
    found: dict[str, tuple[str, str]] = {}
    methods = Template.from_stack(stack).find_resources("AWS::ApiGateway::Method")
    for method in methods.values():
        integration = method["Properties"]["Integration"]
        request = integration["RequestTemplates"]["application/json"]
        response = integration["IntegrationResponses"][0]["ResponseTemplates"]["application/json"]
        assert isinstance(request, str), "the template names only literal resources"
        found[_route_of(request)] = (request, response)
    assert sorted(found) == ["fifo", "get", "put", "run", "send", "write"]
    return found


def _route_of(request: str) -> str:
    for marker, route in (
        ("MessageGroupId", "fifo"),
        ("Action=SendMessage", "send"),
        ("Entries", "put"),
        ("ConditionExpression", "write"),
        ("ConsistentRead", "get"),
        ("stateMachineArn", "run"),
    ):
        if marker in request:
            return route
    raise AssertionError(request)


@pytest.fixture(scope="module", autouse=True)
def report_counts() -> Iterator[None]:
    yield
    print(f"\nDirectApi replay: sent {dict(COUNTS)}")


@pytest.fixture(scope="module")
def targets(aws_client: Callable[[str], Any]) -> dict[str, Any]:
    """The queue, the bus (with a rule to a queue), the table and the state machine in moto."""
    sqs_client = aws_client("sqs")
    queue_url = sqs_client.create_queue(QueueName=QUEUE)["QueueUrl"]
    fifo_url = sqs_client.create_queue(QueueName=FIFO_QUEUE, Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]
    events_url = sqs_client.create_queue(QueueName=f"{BUS}-events")["QueueUrl"]
    events_arn = sqs_client.get_queue_attributes(QueueUrl=events_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events_client = aws_client("events")
    events_client.create_event_bus(Name=BUS)
    events_client.put_rule(
        Name="replayed", EventBusName=BUS, EventPattern=json.dumps({"source": [SOURCE]})
    )
    events_client.put_targets(
        Rule="replayed", EventBusName=BUS, Targets=[{"Id": "queue", "Arn": events_arn}]
    )
    aws_client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    aws_client("stepfunctions").create_state_machine(
        name=MACHINE,
        type="EXPRESS",
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/machine",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
    )
    return {"queue_url": queue_url, "fifo_url": fifo_url, "events_url": events_url}


def _receive_one(sqs_client: Any, queue_url: str) -> str:
    messages = sqs_client.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
    ).get("Messages", [])
    assert len(messages) == 1
    sqs_client.delete_message(QueueUrl=queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
    return str(messages[0]["Body"])


@SETTINGS
@given(data=BODIES, indent=st.sampled_from([None, 2]))
def test_send_message_body_arrives_as_the_client_sent_it(
    *,
    data: Any,
    indent: int | None,
    request_templates: Any,
    targets: Any,
    moto_endpoint: str,
    sqs: Any,
) -> None:
    body = client_body(data, indent)
    rendering = render(request_templates["send"][0], Input(body))
    call = ServiceCall("sqs", f"{ACCOUNT}/{QUEUE}", "application/x-www-form-urlencoded")
    COUNTS["sqs sent"] += 1
    status, _ = send_signed(moto_endpoint, call, rendering.text, AWS_REGION)
    assert status == 200
    assert _receive_one(sqs, targets["queue_url"]) == body
    COUNTS["sqs intact"] += 1


@SETTINGS
@given(data=BODIES, group=st.from_regex(MESSAGE_GROUP_PATTERN, fullmatch=True))
def test_fifo_message_arrives_in_the_body_field_group(
    *, data: Any, group: str, request_templates: Any, targets: Any, moto_endpoint: str, sqs: Any
) -> None:
    body = client_body({**data, "group": group}, None)
    request_id = str(uuid.uuid4())
    rendering = render(request_templates["fifo"][0], Input(body), request_id)
    call = ServiceCall("sqs", f"{ACCOUNT}/{FIFO_QUEUE}", "application/x-www-form-urlencoded")
    COUNTS["sqs fifo sent"] += 1
    status, answer = send_signed(moto_endpoint, call, rendering.text, AWS_REGION)
    assert status == 200, answer
    [message] = sqs.receive_message(
        QueueUrl=targets["fifo_url"], AttributeNames=["All"], WaitTimeSeconds=1
    )["Messages"]
    sqs.delete_message(QueueUrl=targets["fifo_url"], ReceiptHandle=message["ReceiptHandle"])
    assert message["Body"] == body
    assert message["Attributes"]["MessageGroupId"] == group
    assert message["Attributes"]["MessageDeduplicationId"] == request_id
    COUNTS["sqs fifo intact"] += 1


@SETTINGS
@given(data=BODIES)
def test_put_events_detail_arrives_equal_to_the_body(
    *, data: Any, request_templates: Any, targets: Any, moto_endpoint: str, sqs: Any
) -> None:
    rendering = render(request_templates["put"][0], Input(client_body(data, None)))
    call = ServiceCall("events", "", "application/x-amz-json-1.1", "AWSEvents.PutEvents")
    COUNTS["events sent"] += 1
    status, answer = send_signed(moto_endpoint, call, rendering.text, AWS_REGION)
    assert status == 200, answer
    assert json.loads(answer)["FailedEntryCount"] == 0
    event = json.loads(_receive_one(sqs, targets["events_url"]))
    assert (event["source"], event["detail-type"], event["detail"]) == (SOURCE, DETAIL_TYPE, data)
    COUNTS["events intact"] += 1


@SETTINGS
@given(key=STRINGS.filter(bool), name=STRINGS, total=NUMBERS, gift=st.booleans())
def test_put_item_stores_typed_fields_and_get_item_answers_them(
    *,
    key: str,
    name: str,
    total: float,
    gift: bool,
    request_templates: Any,
    targets: Any,
    moto_endpoint: str,
    dynamodb: Any,
) -> None:
    item: dict[str, Any] = {"id": f"{uuid.uuid4()}{key}", "name": name, "total": total}
    item["gift"] = gift
    write, _ = request_templates["write"]
    call = ServiceCall("dynamodb", "", "application/x-amz-json-1.0", "DynamoDB_20120810.PutItem")
    COUNTS["dynamodb put sent"] += 1
    status, answer = send_signed(
        moto_endpoint, call, render(write, Input(json.dumps(item))).text, AWS_REGION
    )
    assert status == 200, answer
    stored = dynamodb.get_item(TableName=TABLE, Key={"id": {"S": item["id"]}})["Item"]
    assert stored == {
        "id": {"S": item["id"]},
        "name": {"S": name},
        "total": {"N": stored["total"]["N"]},
        "gift": {"BOOL": gift},
    }
    assert Decimal(stored["total"]["N"]) == Decimal(json.dumps(total))
    COUNTS["dynamodb put intact"] += 1

    get, answer_template = request_templates["get"]
    call = ServiceCall("dynamodb", "", "application/x-amz-json-1.0", "DynamoDB_20120810.GetItem")
    rendering = render(get, Input("", parameters={"id": item["id"]}))
    COUNTS["dynamodb get sent"] += 1
    status, answer = send_signed(moto_endpoint, call, rendering.text, AWS_REGION)
    assert status == 200, answer
    answered = render(answer_template, Input(answer))
    assert answered.status is None
    assert json.loads(answered.text) == {**item, "total": json.loads(json.dumps(total))}
    COUNTS["dynamodb get intact"] += 1

    again = render(write, Input(json.dumps(item))).text
    status, error = send_signed(
        moto_endpoint,
        call.__class__("dynamodb", "", "application/x-amz-json-1.0", "DynamoDB_20120810.PutItem"),
        again,
        AWS_REGION,
    )
    assert status == 400
    refused = render(_error_template(500), Input(error))
    assert (refused.status, json.loads(refused.text)) == (
        409,
        {"message": "The item already exists."},
    )


@SETTINGS
@given(data=BODIES)
def test_sync_execution_input_arrives_equal_to_the_body(
    *, data: Any, request_templates: Any, targets: Any, moto_endpoint: str, aws_client: Any
) -> None:
    # moto's server has no StartSyncExecution; StartExecution takes the same members
    # (stateMachineArn, name, input: Step Functions API reference), so the rendering is sent as
    # StartExecution and its input read back with DescribeExecution.
    rendering = render(request_templates["run"][0], Input(client_body(data, 2)), str(uuid.uuid4()))
    call = ServiceCall(
        "states", "", "application/x-amz-json-1.0", "AWSStepFunctions.StartExecution"
    )
    COUNTS["states sent"] += 1
    status, answer = send_signed(moto_endpoint, call, rendering.text, AWS_REGION)
    assert status == 200, answer
    described = aws_client("stepfunctions").describe_execution(
        executionArn=json.loads(answer)["executionArn"]
    )
    assert json.loads(described["input"]) == data
    COUNTS["states intact"] += 1


def _error_template(status: int) -> str:
    from serverless_patterns.constructs._direct_templates import service_error_response

    return service_error_response(status)
