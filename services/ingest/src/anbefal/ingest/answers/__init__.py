"""The generic API: answers in our own format, one or a batch, with a bearer token."""
