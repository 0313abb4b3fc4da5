"""Staff accounts: who logs in to the staff page, and which addresses belong to staff."""
