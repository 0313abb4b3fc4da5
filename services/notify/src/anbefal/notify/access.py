"""Who may call notify's API and see which personal data: the principal each route takes
(`common.deps.allow`) and the one rule for respondents' contact details.

| data | admin | director | agent | viewer | ops |
|---|---|---|---|---|---|
| tasks: score, comment, respondent's name and key | yes | yes | yes | yes | yes |
| tasks: respondent's email and phone | yes | yes | yes | no | no |
| email log (`/emails`) and chat log (`/chat-messages`) | yes | yes | no | no | yes |

Those who contact respondents (agents, directors, admins) see how to reach them; those who run
delivery (ops) see the delivery logs, which name the addresses mails went to; viewers read the
queue and see neither. `docs/architecture.md` has the same table for every service.
"""

from __future__ import annotations

from typing import Annotated, Any

from anbefal.common.auth import Principal, Role
from anbefal.common.deps import allow
from anbefal.notify.tasks.lifecycle import STAFF

READERS = (Role.ADMIN, Role.DIRECTOR, Role.AGENT, Role.VIEWER, Role.OPS)
# Delivery logs name respondents' addresses: not for agents and viewers.
LOG_READERS = (Role.ADMIN, Role.DIRECTOR, Role.OPS)
# Who sees a respondent's email and phone on a task: the roles that call or write to them.
CONTACT_READERS = frozenset({Role.ADMIN, Role.DIRECTOR, Role.AGENT})
CONTACT_FIELDS = ("email", "phone")

Reader = Annotated[Principal, allow(*READERS)]
LogReader = Annotated[Principal, allow(*LOG_READERS)]
Staff = Annotated[Principal, allow(*STAFF)]


def respondent_for(role: Role, respondent: dict[str, Any]) -> dict[str, Any]:
    """A task's respondent as `role` may see it: without email and phone unless it contacts
    respondents."""
    if role in CONTACT_READERS:
        return respondent
    return {k: v for k, v in respondent.items() if k not in CONTACT_FIELDS}
