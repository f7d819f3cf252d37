"""API Gateway mapping templates (VTL) of DirectApi's routes: requests and responses.

Pure string builders, no jsii: the values they embed (queue, table, bus, state machine) may be
CDK tokens, which CloudFormation resolves inside the template string.

Escaping ("API Gateway mapping template and access logging variable reference", ``$util``):
every client value put inside a JSON string goes through ``$util.escapeJavaScript``, whose
``\\'`` (not valid JSON) is turned back into ``'`` as that page prescribes; a body sent as a
form field goes through ``$util.urlEncode``. Numbers and booleans come from ``$input.json``
of a field the route's JSON Schema model has already checked to be a number or a boolean.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import Enum

#: The HTTP status API Gateway answers when the service refused or failed the request.
STATUS_CONFLICT = 409
STATUS_TOO_MANY_REQUESTS = 429
STATUS_NOT_FOUND = 404
STATUS_INTERNAL_ERROR = 500
STATUS_BAD_GATEWAY = 502
STATUS_GATEWAY_TIMEOUT = 504

#: What a client sees for each error: a fixed message, never the service's error.
MESSAGES = {
    STATUS_CONFLICT: "The item already exists.",
    STATUS_TOO_MANY_REQUESTS: "Too many requests, retry later.",
    STATUS_NOT_FOUND: "Not found.",
    STATUS_INTERNAL_ERROR: "The request could not be processed.",
    STATUS_BAD_GATEWAY: "The service failed to process the request.",
    STATUS_GATEWAY_TIMEOUT: "The workflow did not finish in time.",
}

#: Service error types (``__type`` of AWS JSON errors, or ``ErrorCode`` of a failed entry)
#: that mean "slow down": DynamoDB, EventBridge, SQS and Step Functions throttling errors.
_THROTTLING_MARKERS = ("Throttl", "ProvisionedThroughputExceeded", "RequestLimitExceeded")


class FieldType(Enum):
    """The DynamoDB type of one item attribute, and the JSON Schema type the body must have."""

    STRING = ("S", "string")
    NUMBER = ("N", "number")
    BOOLEAN = ("BOOL", "boolean")

    @property
    def attribute_type(self) -> str:
        return self.value[0]

    @property
    def schema_type(self) -> str:
        return self.value[1]


def escaped(expression: str) -> str:
    """VTL giving ``expression`` escaped for a JSON string (``\\'`` turned back into ``'``)."""
    return f'$util.escapeJavaScript({expression}).replaceAll("\\\\\'","\'")'


#: The body as JSON text (API Gateway serializes the parsed body).
_BODY_JSON = "$input.json('$')"


def _path(name: str) -> str:
    """VTL of the body's top-level field ``name`` (a string, number or boolean)."""
    return f"$input.path('$.{name}')"


def _message(status: int) -> str:
    return json.dumps({"message": MESSAGES[status]})


# --- requests -------------------------------------------------------------------------------


def send_message_request(message_group_field: str | None) -> str:
    """SQS SendMessage (AWS query protocol, a form post to ``<account>/<queue>``, as AWS's
    knowledge center article "How do I resolve errors when I integrate API Gateway REST API
    with Amazon SQS?" sets it up): the raw body is the message; for a FIFO queue, the group is
    the body's ``message_group_field`` and the deduplication id the API request id."""
    parts = ["Action=SendMessage", "MessageBody=$util.urlEncode($input.body)"]
    if message_group_field is not None:
        parts.append(f"MessageGroupId=$util.urlEncode({_path(message_group_field)})")
        parts.append("MessageDeduplicationId=$context.requestId")
    return "&".join(parts)


def put_events_request(event_bus_arn: str, source: str, detail_type: str) -> str:
    """EventBridge PutEvents (AWS JSON 1.1): one entry whose detail is the body."""
    return (
        '{"Entries":[{'
        f'"EventBusName":"{event_bus_arn}",'
        f'"Source":{json.dumps(source)},'
        f'"DetailType":{json.dumps(detail_type)},'
        f'"Detail":"{escaped(_BODY_JSON)}"'
        "}]}"
    )


def _attribute(name: str, field_type: FieldType) -> str:
    """The typed DynamoDB attribute value of body field ``name``."""
    if field_type is FieldType.STRING:
        value = f'"{escaped(_path(name))}"'
    elif field_type is FieldType.NUMBER:
        value = f"\"$input.json('$.{name}')\""
    else:
        value = f"$input.json('$.{name}')"
    return f'{json.dumps(name)}:{{"{field_type.attribute_type}":{value}}}'


def put_item_request(table_name: str, key: str, fields: Mapping[str, FieldType]) -> str:
    """DynamoDB PutItem (AWS JSON 1.0): the item is the declared fields of the body; an item
    with the same key is never overwritten (the condition fails instead)."""
    item = ",".join(_attribute(name, field_type) for name, field_type in fields.items())
    return (
        f'{{"TableName":"{table_name}",'
        f'"Item":{{{item}}},'
        '"ConditionExpression":"attribute_not_exists(#key)",'
        f'"ExpressionAttributeNames":{{"#key":{json.dumps(key)}}}}}'
    )


def get_item_request(table_name: str, key: str, key_type: FieldType, parameter: str) -> str:
    """DynamoDB GetItem (AWS JSON 1.0), strongly consistent, by the path parameter."""
    raw = f"$input.params('{parameter}')"
    value = f'"{escaped(raw)}"' if key_type is FieldType.STRING else f'"{raw}"'
    return (
        f'{{"TableName":"{table_name}",'
        f'"Key":{{{json.dumps(key)}:{{"{key_type.attribute_type}":{value}}}}},'
        '"ConsistentRead":true}'
    )


def start_sync_execution_request(state_machine_arn: str) -> str:
    """Step Functions StartSyncExecution (AWS JSON 1.0): the body is the execution's input,
    the API request id its name."""
    return (
        f'{{"stateMachineArn":"{state_machine_arn}",'
        f'"name":"$context.requestId",'
        f'"input":"{escaped(_BODY_JSON)}"}}'
    )


# --- responses ------------------------------------------------------------------------------


def _override(status: int) -> str:
    return f"#set($context.responseOverride.status = {status})\n{_message(status)}\n"


def service_error_response(default_status: int) -> str:
    """The body of a service error (AWS JSON ``__type``): throttling 429, a failed DynamoDB
    condition 409, anything else ``default_status``; never the service's message."""
    markers = " || ".join(f"$type.contains('{marker}')" for marker in _THROTTLING_MARKERS)
    return (
        "#set($type = \"$!input.path('$.__type')\")\n"
        f"#if({markers})\n"
        f"{_override(STATUS_TOO_MANY_REQUESTS)}"
        "#elseif($type.contains('ConditionalCheckFailedException'))\n"
        f"{_override(STATUS_CONFLICT)}"
        "#else\n"
        f"{_message(default_status)}\n"
        "#end"
    )


def send_message_response() -> str:
    """SendMessage's answer: ``{"messageId": ...}``. The route asks SQS's query API for JSON
    (``Accept: application/json``), which wraps the result as
    ``SendMessageResponse.SendMessageResult`` (the shape LocalStack reproduces from AWS for
    API Gateway SQS integrations, localstack/localstack#9102)."""
    return '{"messageId":"$input.path(\'$.SendMessageResponse.SendMessageResult.MessageId\')"}'


def put_events_response() -> str:
    """PutEvents answers 200 even when its entry failed (EventBridge API reference, PutEvents:
    "FailedEntryCount", and each failed entry's ``ErrorCode``): ``FailedEntryCount`` > 0 is 429
    for throttling, 502 otherwise; success is ``{"eventId": ...}``."""
    return (
        "#if($input.path('$.FailedEntryCount') > 0)\n"
        "#set($code = \"$!input.path('$.Entries[0].ErrorCode')\")\n"
        "#if($code.contains('Throttl'))\n"
        f"{_override(STATUS_TOO_MANY_REQUESTS)}"
        "#else\n"
        f"{_override(STATUS_BAD_GATEWAY)}"
        "#end\n"
        "#else\n"
        '{"eventId":"$input.path(\'$.Entries[0].EventId\')"}\n'
        "#end"
    )


def put_item_response() -> str:
    """PutItem's answer when the item was created (201): ``{"created": true}``."""
    return '{"created":true}'


def get_item_response(fields: Mapping[str, FieldType]) -> str:
    """GetItem's answer: the declared fields of the item as plain JSON; 404 without one."""
    members = []
    for name, field_type in fields.items():
        attribute = f"$item.get('{name}').get('{field_type.attribute_type}')"
        value = f'"{escaped(attribute)}"' if field_type is FieldType.STRING else attribute
        members.append(
            f'#if("$!item.get(\'{name}\')" != "")#if($sep),#end#set($sep = true)'
            f"{json.dumps(name)}:{value}#end"
        )
    return (
        "#set($item = $input.path('$.Item'))\n"
        '#if("$!item" == "")\n'
        f"{_override(STATUS_NOT_FOUND)}"
        "#else\n"
        "#set($sep = false)\n"
        "{" + "".join(members) + "}\n"
        "#end"
    )


def start_sync_execution_response() -> str:
    """StartSyncExecution answers 200 for every finished execution, its ``status`` one of
    SUCCEEDED, FAILED, TIMED_OUT (Step Functions API reference, StartSyncExecution): SUCCEEDED
    gives the workflow's output as the body; TIMED_OUT 504; anything else 502. The error and
    cause of a failed execution are not answered (they may hold internals)."""
    return (
        "#set($status = \"$!input.path('$.status')\")\n"
        "#if($status == 'SUCCEEDED')\n"
        "$input.path('$.output')\n"
        "#elseif($status == 'TIMED_OUT')\n"
        f"{_override(STATUS_GATEWAY_TIMEOUT)}"
        "#else\n"
        f"{_override(STATUS_BAD_GATEWAY)}"
        "#end"
    )
