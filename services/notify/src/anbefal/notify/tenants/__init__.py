"""Tenant settings: the whole record, and the admin API's partial update of it."""
