"""A tenant's survey-tool sources: their configuration, and the admin API over them."""
