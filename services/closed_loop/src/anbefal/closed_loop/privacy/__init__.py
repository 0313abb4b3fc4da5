"""A person's data in closed_loop: the answers it evaluated and the actions it decided
(`erasure`, `export`), and how long it is kept (`retention`)."""
