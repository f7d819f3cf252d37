"""The contract between the idempotency table (CDK side) and the runtime: names only.

Constructs import these names to configure the table and the function's environment; the
runtime reads items and the environment with them. Keep this module free of imports.
"""

#: Environment variable holding the table name.
TABLE_NAME_ENV = "IDEMPOTENCY_TABLE_NAME"
#: Environment variable holding how long a completed record is kept, in seconds.
EXPIRES_AFTER_ENV = "IDEMPOTENCY_EXPIRES_AFTER_SECONDS"
#: Default expiry window of a completed record: one hour.
DEFAULT_EXPIRES_AFTER_SECONDS = 3600

#: Partition key (string): the namespaced hash of the idempotency key.
KEY_ATTRIBUTE = "id"
#: Epoch seconds after which the record is expired; the table's TTL attribute.
EXPIRY_ATTRIBUTE = "expiration"
#: ``INPROGRESS`` or ``COMPLETED``.
STATUS_ATTRIBUTE = "status"
#: Epoch milliseconds after which an INPROGRESS record may be taken over.
IN_PROGRESS_EXPIRY_ATTRIBUTE = "in_progress_expiration"
#: The stored result (JSON) of a COMPLETED record.
DATA_ATTRIBUTE = "data"
#: Hash of the validated part of the payload, when payload validation is on.
VALIDATION_ATTRIBUTE = "validation"
#: The random token of the attempt that took the lock; only it may complete or release it.
OWNER_ATTRIBUTE = "owner"

#: The DynamoDB item actions the runtime calls; the table grants exactly these.
ITEM_ACTIONS = (
    "dynamodb:PutItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchGetItem",
)
