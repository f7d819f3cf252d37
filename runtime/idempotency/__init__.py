"""Idempotency for Lambda handlers, batched for SQS."""
