"""Outcome reasons: why a respondent was unhappy, chosen from the tenant's codes when a task is
completed; they feed the closed-loop performance figures (`performance/`)."""
