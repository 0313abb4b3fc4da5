"""Bodies ingest refused, kept with their reason for ops: listed, shown, replayed."""
