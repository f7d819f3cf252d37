"""EventBridge runtime helpers: a batching publisher and the consumer envelope."""
