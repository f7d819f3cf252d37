"""API runtime helpers: a small router for API Gateway proxy events, and the smoke checks
the CanaryApi deployment hooks run against a new function version."""
