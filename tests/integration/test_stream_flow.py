"""StreamConsumer runtime against the moto server: records written to a Kinesis stream and to a
DynamoDB table with a stream, read back with the real APIs (GetShardIterator / GetRecords),
turned into the events Lambda sends, and driven through Lambda's checkpoint loop
(``stream_checkpoint.drive_shard``) with the mapping's defaults: retries 5, bisect on.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from serverless_patterns.runtime.handlers import stream_consumer, stream_consumer_windows
from serverless_patterns.runtime.idempotency import DynamoDBStore
from serverless_patterns.runtime.streams import (
    StreamRecord,
    WindowStateTooLargeError,
    WindowStore,
    idempotent_stream_handler,
    stream_batch_handler,
    tumbling_window_handler,
)
from tests.integration.dynamodb_tables import create_counter_table, create_idempotency_table
from tests.integration.stream_checkpoint import LoopFigures, drive_shard, sequence_of
from tests.runtime.stream_events import dynamodb_record, kinesis_record, window_event

RETRY_ATTEMPTS = 5  # StreamConsumer's default
BATCH_SIZE = 10


def read_kinesis(kinesis: Any, name: str) -> dict[str, list[dict[str, Any]]]:
    """Each shard's records as Lambda event records, in shard order (GetRecords)."""
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    shards: dict[str, list[dict[str, Any]]] = {}
    for shard in kinesis.list_shards(StreamName=name)["Shards"]:
        shard_id = shard["ShardId"]
        iterator = kinesis.get_shard_iterator(
            StreamName=name, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        found: list[dict[str, Any]] = []
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=1000)
            found += [kinesis_record(r, shard_id=shard_id, stream_arn=arn) for r in page["Records"]]
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
        shards[shard_id] = found
    return shards


def new_stream(kinesis: Any, shards: int) -> str:
    name = f"orders-{uuid.uuid4().hex[:10]}"
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    return name


def put_orders(kinesis: Any, name: str, orders: list[Any]) -> None:
    for index, order in enumerate(orders):
        data = order if isinstance(order, bytes) else json.dumps(order).encode()
        kinesis.put_record(StreamName=name, Data=data, PartitionKey=f"customer-{index % 4}")


def destination(sqs: Any) -> tuple[str, Callable[[str], object]]:
    url = sqs.create_queue(QueueName=f"failed-batches-{uuid.uuid4().hex[:10]}")["QueueUrl"]
    return url, lambda body: sqs.send_message(QueueUrl=url, MessageBody=body)


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return bodies
        for message in got:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def kinesis(aws_client: Callable[[str], Any]) -> Any:
    return aws_client("kinesis")


def test_kinesis_checkpoint_loop_processes_in_order_and_discards_the_poison_record(
    kinesis: Any, sqs: Any
) -> None:
    """Every valid record is processed once, in order per shard; the records after the poison
    record run only after it was discarded; the poison record alone reaches the on-failure
    queue after RETRY_ATTEMPTS retries."""
    name = new_stream(kinesis, shards=2)
    orders: list[Any] = [{"order_id": f"o-{i}", "quantity": i + 1} for i in range(60)]
    orders[23] = b"not json"  # the poison record
    put_orders(kinesis, name, orders)
    shards = read_kinesis(kinesis, name)
    assert sum(len(records) for records in shards.values()) == 60

    processed: list[tuple[str, str]] = []  # (shard, sequence) in processing order
    poison_sequence: list[str] = []

    def handle(record: StreamRecord) -> None:
        stream_consumer.handle_record(record)  # raises for the poison record
        processed.append((record.event_id.partition(":")[0], record.sequence_number))

    handler = stream_batch_handler(handle)
    url, send = destination(sqs)
    figures = LoopFigures()
    for shard_id, records in shards.items():
        poison_sequence += [
            sequence_of(r) for r in records if r["kinesis"]["data"] == "bm90IGpzb24="
        ]
        drive_shard(
            records,
            handler,
            shard_id=shard_id,
            batch_size=BATCH_SIZE,
            retry_attempts=RETRY_ATTEMPTS,
            bisect=True,
            send_to_destination=send,
            figures=figures,
        )
        # In order per shard, each record once, and nothing after the poison record ran
        # before the poison record was discarded (the loop is sequential per shard).
        done = [seq for shard, seq in processed if shard == shard_id]
        expected = [sequence_of(r) for r in records if sequence_of(r) not in poison_sequence]
        assert done == expected

    assert len(processed) == 59
    [failed] = drain(sqs, url)
    assert failed["KinesisBatchInfo"]["batchSize"] == 1
    assert failed["KinesisBatchInfo"]["startSequenceNumber"] == poison_sequence[0]
    assert failed["requestContext"]["approximateInvokeCount"] == RETRY_ATTEMPTS + 1
    assert figures.discarded_records == poison_sequence
    print(  # the figures the closing note quotes (run with -s)
        f"\ncheckpoint loop: records={figures.records} failures={figures.failures} "
        f"re-invocations={figures.reinvocations} invocations={figures.invocations} "
        f"discarded={figures.discarded_batches}"
    )


def test_a_transient_failure_blocks_its_shard_until_it_clears(kinesis: Any, sqs: Any) -> None:
    """A record that fails twice then succeeds: nothing after it runs before it succeeds, and
    nothing is discarded."""
    name = new_stream(kinesis, shards=1)
    put_orders(kinesis, name, [{"order_id": f"o-{i}", "quantity": 1} for i in range(25)])
    [(shard_id, records)] = read_kinesis(kinesis, name).items()
    flaky = sequence_of(records[12])
    attempts = {"count": 0}
    timeline: list[str] = []

    def handle(record: StreamRecord) -> None:
        if record.sequence_number == flaky and attempts["count"] < 2:
            attempts["count"] += 1
            timeline.append("fail")
            raise ConnectionError("downstream unavailable")
        timeline.append(record.sequence_number)

    url, send = destination(sqs)
    figures = drive_shard(
        records,
        stream_batch_handler(handle),
        shard_id=shard_id,
        batch_size=BATCH_SIZE,
        retry_attempts=RETRY_ATTEMPTS,
        bisect=True,
        send_to_destination=send,
    )
    assert [t for t in timeline if t != "fail"] == [sequence_of(r) for r in records]
    assert timeline.index(flaky) == timeline.index("fail") + 2  # nothing ran in between
    assert figures.failures == 2 and figures.discarded_batches == 0
    assert drain(sqs, url) == []


def streamed_table(dynamodb: Any) -> tuple[str, str]:
    name = f"orders-{uuid.uuid4().hex[:10]}"
    described = dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return name, described["TableDescription"]["LatestStreamArn"]


def read_dynamodb_stream(streams: Any, stream_arn: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        records += [dynamodb_record(r, stream_arn=stream_arn) for r in page["Records"]]
    return records


def write_orders(dynamodb: Any, table: str, count: int) -> None:
    for i in range(count):
        dynamodb.put_item(
            TableName=table,
            Item={"order_id": {"S": f"o-{i}"}, "quantity": {"N": str(i + 1)}},
        )
    dynamodb.update_item(
        TableName=table,
        Key={"order_id": {"S": "o-0"}},
        UpdateExpression="SET quantity = :q",
        ExpressionAttributeValues={":q": {"N": "100"}},
    )


def test_dynamodb_stream_redelivered_batches_have_effects_once(
    dynamodb: Any, aws_client: Callable[[str], Any], sqs: Any
) -> None:
    """Idempotent handler keyed on the event id: a re-delivered batch (a retry after a
    timeout) changes nothing; a poison item is discarded after the retry bound."""
    table, stream_arn = streamed_table(dynamodb)
    write_orders(dynamodb, table, 12)
    records = read_dynamodb_stream(aws_client("dynamodbstreams"), stream_arn)
    assert [r["eventName"] for r in records] == ["INSERT"] * 12 + ["MODIFY"]
    assert records[-1]["dynamodb"]["NewImage"]["quantity"] == {"N": "100"}

    counters = create_counter_table(dynamodb)
    store = DynamoDBStore(create_idempotency_table(dynamodb), client=dynamodb)
    effects: list[str] = []

    def handle(record: StreamRecord) -> None:
        image = record.new_image or {}  # type: ignore[union-attr]
        if image.get("order_id") == "o-7":
            raise ValueError("poison item")
        dynamodb.update_item(
            TableName=counters,
            Key={"id": {"S": "orders"}},
            UpdateExpression="ADD #c :one",
            ExpressionAttributeNames={"#c": "count"},
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
        effects.append(record.event_id)

    handler = idempotent_stream_handler(handle, store=store, namespace="test")
    url, send = destination(sqs)
    shard = "shardId-dynamodb"
    for _ in range(2):  # the second pass is a full redelivery of every batch
        drive_shard(
            records,
            handler,
            shard_id=shard,
            batch_size=5,
            retry_attempts=RETRY_ATTEMPTS,
            bisect=True,
            send_to_destination=send,
        )
    assert len(effects) == 12 == len(set(effects))
    count = dynamodb.get_item(TableName=counters, Key={"id": {"S": "orders"}})["Item"]["count"]
    assert count == {"N": "12"}
    discarded = drain(sqs, url)
    assert len(discarded) == 2  # once per pass: a failed record is never completed
    assert {d["KinesisBatchInfo"]["batchSize"] for d in discarded} == {1}


def new_window_table(dynamodb: Any) -> str:
    return create_counter_table(dynamodb, f"windows-{uuid.uuid4().hex[:10]}")


def test_tumbling_windows_total_and_a_redelivered_final_invocation_writes_once(
    dynamodb: Any, aws_client: Callable[[str], Any]
) -> None:
    table, stream_arn = streamed_table(dynamodb)
    write_orders(dynamodb, table, 9)  # quantities 1..9, plus a MODIFY not counted
    records = read_dynamodb_stream(aws_client("dynamodbstreams"), stream_arn)
    store = WindowStore(new_window_table(dynamodb), client=dynamodb)
    written: list[Any] = []
    handler = tumbling_window_handler(
        stream_consumer_windows.add_orders, store=store, on_window=written.append
    )
    common: dict[str, Any] = {"shard_id": "shardId-1", "source_arn": stream_arn}
    windows = [
        ("2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z", records[:4], records[4:6]),
        ("2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z", records[6:], []),
    ]
    for start, end, first_batch, second_batch in windows:
        state: dict[str, Any] = {}
        for batch in (first_batch, second_batch):
            state = handler(window_event(batch, state=state, start=start, end=end, **common), None)[
                "state"
            ]
        final = window_event([], state=state, start=start, end=end, final=True, **common)
        assert handler(final, None) == {"state": {}, "batchItemFailures": []}
        assert handler(final, None) == {"state": {}, "batchItemFailures": []}  # re-delivered

    items = dynamodb.scan(TableName=store.table_name)["Items"]
    assert len(items) == 2 and len(written) == 2
    totals = {i["windowStart"]["S"]: json.loads(i["aggregate"]["S"]) for i in items}
    assert totals == {
        "2026-01-01T00:00:00Z": {"orders": 6, "quantity": 21},
        "2026-01-01T00:01:00Z": {"orders": 3, "quantity": 24},
    }
    assert {i["id"]["S"] for i in items} == {
        f"{stream_arn}#shardId-1#2026-01-01T00:00:00Z",
        f"{stream_arn}#shardId-1#2026-01-01T00:01:00Z",
    }


def test_a_window_terminated_early_is_written_once_per_part(dynamodb: Any) -> None:
    """isWindowTerminatedEarly: the next invocation continues the same window with a fresh
    state, so each part is its own item (keyed by its first sequence number)."""
    store = WindowStore(new_window_table(dynamodb), client=dynamodb)
    handler = tumbling_window_handler(
        lambda total, records: total + len(records), initial=int, store=store
    )

    def kinesis_like(seq: str) -> dict[str, Any]:
        return {"kinesis": {"sequenceNumber": seq, "data": ""}, "eventID": f"s:{seq}"}

    span = {"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:15:00Z"}
    common: dict[str, Any] = {"shard_id": "s", "source_arn": "arn", **span}
    for first, count in (("100", 3), ("200", 2)):
        records = [kinesis_like(str(int(first) + i)) for i in range(count)]
        state = handler(window_event(records, state={}, **common), None)["state"]
        end = window_event([], state=state, final=True, terminated_early=True, **common)
        handler(end, None)
        handler(end, None)
    items = dynamodb.scan(TableName=store.table_name)["Items"]
    assert sorted((i["id"]["S"].rsplit("#", 1)[1], i["aggregate"]["S"]) for i in items) == [
        ("100", "3"),
        ("200", "2"),
    ]


def test_window_state_above_one_megabyte_raises_a_clear_error(dynamodb: Any) -> None:
    store = WindowStore(new_window_table(dynamodb), client=dynamodb)
    handler = tumbling_window_handler(lambda state, records: "x" * (1024 * 1024), store=store)
    with pytest.raises(WindowStateTooLargeError, match=r"is 10\d{5} bytes, above Lambda's limit"):
        handler(window_event([], state={}, start="a", end="b", shard_id="s", source_arn="x"), None)
    assert dynamodb.scan(TableName=store.table_name)["Items"] == []
