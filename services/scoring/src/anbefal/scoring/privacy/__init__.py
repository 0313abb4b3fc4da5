"""A person's data in scoring: the keyed hashes that find their NPS answers (`identities`), the
erasure that drops them (`erasure`), the export (`export`), and how long they are kept
(`retention`)."""
