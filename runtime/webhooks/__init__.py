"""Standard Webhooks: signing, verifying, receiving and sending webhooks."""
