"""The call-back queue: tasks from actions, their lifecycle, the SLA clock, the tasks API."""
