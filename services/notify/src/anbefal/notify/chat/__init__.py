"""Slack and Teams posts for new detractor tasks: composed, kept in an outbox, posted."""
