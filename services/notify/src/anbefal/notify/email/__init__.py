"""Email: composing the mail, the outbox, the sender worker and the delivery log."""
