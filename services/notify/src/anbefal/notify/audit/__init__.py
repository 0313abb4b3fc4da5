"""The audit trail's store: every service's entries from `anbefal.audit.v1` and the tenant
settings' changes, served to the tenant's admin."""
