"""The answers and comments API (`GET /v1/tenants/{t}/answers`): what the filters mean
(`query.py`), which eNPS comments a reader may see (`enps.py`), the SQL (`repository.py`) and the
route (`routes.py`). The themes (`scoring/themes/`) read the same filtered answers."""
