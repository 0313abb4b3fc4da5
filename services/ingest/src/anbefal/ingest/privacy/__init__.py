"""A person's data: ingest owns erasure requests and their receipts (`requests`, `routes`),
erases its own copies (`erasure`) and exports them (`export`)."""
