"""Closed-loop performance: how the tenant's tasks were worked, per period and segment
(`GET /v1/tenants/{t}/loop-stats`)."""
