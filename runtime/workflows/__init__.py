"""Workflow runtime helpers: signed approval links and the approval callback."""
