"""A person's data in notify: tasks, their notes, mail, chat posts and the suppression list
(`erasure`, `export`), and how long it is kept (`retention`)."""
