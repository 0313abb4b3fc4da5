"""A person's data in scoring: the keyed hashes that find their NPS answers (`identities`), the
erasure that drops them (`erasure`) and the export (`export`)."""
