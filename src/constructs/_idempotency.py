"""The idempotency building block every consumer pattern reuses (pattern 2).

A consumer construct (QueueWorker now; event-bus targets and webhook receivers later) takes
``idempotency: IdempotencyOptions | None``, checks it with ``check_idempotency_options`` before
it creates anything, and calls ``enable_idempotency`` once its function exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aws_cdk import Annotations, Duration, Tokenization
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_

from constructs import Construct, IConstruct
from serverless_patterns.constructs import _defaults
from serverless_patterns.constructs._validation import check_whole_seconds, known_above
from serverless_patterns.runtime.idempotency import schema

if TYPE_CHECKING:  # aws_dynamodb is imported only by a consumer that uses idempotency
    from aws_cdk import aws_dynamodb as dynamodb

    from serverless_patterns.constructs.idempotency_table import IdempotencyTable


@dataclass(frozen=True)
class IdempotencyOptions:
    """Makes a consumer's function idempotent with records in a DynamoDB table.

    :param table: the table of idempotency records. Share one ``IdempotencyTable`` between
        several consumers (the runtime namespaces its keys), or pass any ``ITable`` whose
        partition key is ``id`` (string) and whose TTL attribute is ``expiration``.
        Default: - a new ``IdempotencyTable`` created inside the consumer construct, with the
        id ``IdempotencyTable``.
    :param expires_after: how long a completed record answers duplicates, in whole seconds
        from 1 s to 30 days (the longest redelivery path of the AWS sources: 14 days in a queue
        plus 14 in its dead-letter queue before a redrive), and at least the function's
        timeout (a shorter window is a ValueError at synth: a duplicate redelivered after an
        attempt timed out would find no record and run again). Default: - 1 hour.
    """

    table: IdempotencyTable | dynamodb.ITable | None = None
    # Duration is immutable, so sharing one default instance is safe.
    expires_after: Duration = field(
        default_factory=lambda: Duration.seconds(schema.DEFAULT_EXPIRES_AFTER_SECONDS)
    )


def check_idempotency_options(scope: IConstruct, options: IdempotencyOptions) -> None:
    """Raises ValueError, naming ``scope``'s path and the value, when an option is invalid."""
    check_whole_seconds(
        scope,
        "idempotency expires_after",
        options.expires_after,
        1,
        _defaults.MAX_IDEMPOTENCY_EXPIRES_AFTER_SECONDS,
    )


def enable_idempotency(
    scope: Construct,
    function: lambda_.IFunction,
    options: IdempotencyOptions,
    *,
    encryption_key: kms.IKey | None = None,
) -> dynamodb.ITable:
    """Gives ``function`` an idempotency table: creates or takes the table, grants, configures.

    - the table: ``options.table``, or a new ``IdempotencyTable`` as ``<scope>/IdempotencyTable``
      (encrypted with ``encryption_key`` when one is given);
    - the grant: exactly ``schema.ITEM_ACTIONS`` on the table (and its customer-managed key);
    - the environment: ``schema.TABLE_NAME_ENV`` = the table name and
      ``schema.EXPIRES_AFTER_ENV`` = ``expires_after`` in seconds.

    An imported function cannot be configured at synth: it gets the grant when its role is
    known, and a synth warning (``serverless-patterns:idempotency:environmentNotSet``) naming
    the variables to set on it yourself.

    :returns: the table, for the consumer's ``idempotency_table`` attribute.
    """
    from serverless_patterns.constructs.idempotency_table import (
        IdempotencyTable,
        grant_item_actions,
    )

    check_idempotency_options(scope, options)
    _check_covers_function_timeout(scope, function, options.expires_after)
    if isinstance(options.table, IdempotencyTable):
        table: dynamodb.ITable = options.table.table
    elif options.table is not None:
        table = options.table
    else:
        table = IdempotencyTable(scope, "IdempotencyTable", encryption_key=encryption_key).table

    if function.role is not None:
        grant_item_actions(table, function)
    else:
        Annotations.of(scope).add_warning_v2(
            "serverless-patterns:idempotency:noRoleToGrant",
            "The imported function has no known role: grant it "
            f"{', '.join(schema.ITEM_ACTIONS)} on the idempotency table (and encrypt/decrypt "
            "on its key, if customer-managed).",
        )

    expires_after = Tokenization.stringify_number(options.expires_after.to_seconds())
    if isinstance(function, lambda_.Function):
        function.add_environment(schema.TABLE_NAME_ENV, table.table_name)
        function.add_environment(schema.EXPIRES_AFTER_ENV, expires_after)
    else:
        Annotations.of(scope).add_warning_v2(
            "serverless-patterns:idempotency:environmentNotSet",
            "The environment of an imported function cannot be set at synth: set "
            f"{schema.TABLE_NAME_ENV} to the idempotency table's name and "
            f"{schema.EXPIRES_AFTER_ENV} to {expires_after} on it.",
        )
    return table


def _check_covers_function_timeout(
    scope: IConstruct, function: lambda_.IFunction, expires_after: Duration
) -> None:
    """Raises ValueError when ``expires_after`` is shorter than the function's timeout.

    The runtime keeps an in-progress lock until its holder's deadline whatever the expiry, but
    a completed record shorter-lived than one attempt is gone before the retries of that attempt
    arrive, so their work runs again. An imported function's timeout is unknown: not checked.
    """
    timeout = function.timeout if isinstance(function, lambda_.Function) else None
    if timeout is None:
        return
    if known_above(timeout.to_seconds(), expires_after.to_seconds()):
        raise ValueError(
            f"{scope.node.path}: idempotency expires_after ({expires_after.to_human_string()}) "
            f"is shorter than the function's timeout ({timeout.to_human_string()}); a completed "
            "record must outlive an attempt so its retries find it"
        )
