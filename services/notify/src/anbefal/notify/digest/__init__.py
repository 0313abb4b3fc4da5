"""The leadership digest: every few weeks, NPS and eNPS with their change, the trend charts,
closed-loop performance and the overdue calls, mailed to the tenant's digest recipients."""
