"""Who a task's mail can reach, and with which page: the one rule behind every staff mail.

Every mail about a task links to a page its recipient can open: the staff page for someone with
a staff login of the tenant, else a signed link to that one task (`tasks/links.py`), which only
goes to an address the tenant itself gave us. An owner named only by the answer's own hint (a
survey's hidden field can name anyone) gets no link unless the address is at the tenant's own
mail domain; such a task stays in the fallback queue, where every agent sees it.
"""

from __future__ import annotations

from collections.abc import Collection

from anbefal.notify.models import TaskFacts, Tenant
from anbefal.notify.settings import NotifySettings
from anbefal.notify.tasks import links
from anbefal.notify.tasks.links import LinkKind, TaskLink

# Owners from the tenant's own configuration (closed_loop's accounts, segments and defaults),
# or chosen by a director who reassigned the task.
CONFIGURED = frozenset({"account", "segment", "default", "reassigned"})


def at_tenant_domain(address: str, tenant: Tenant | None) -> bool:
    """Whether `address` is at the domain the tenant sends its mail from."""
    own = (tenant.sender_email or "").rpartition("@")[2].lower() if tenant else ""
    return bool(own) and address.rpartition("@")[2].lower() == own


def trusted_owner(address: str | None, source: str | None, tenant: Tenant | None) -> bool:
    """Whether a task's owner may get a signed link: named by the tenant, or at its domain."""
    return bool(address) and (source in CONFIGURED or at_tenant_domain(address or "", tenant))


def page_for(
    task: TaskFacts,
    recipient: str | None,
    *,
    staff: Collection[str],
    settings: NotifySettings,
    lead: bool = False,
) -> str | None:
    """The page a mail about `task` to `recipient` links to, or None when no page would open
    for them (then the mail is not sent). `staff`: the tenant's lower-cased staff logins;
    `lead`: the recipient is the tenant's own escalation address (its director, next level)."""
    if not recipient:
        return None
    address = recipient.lower()
    base = settings.public_url.rstrip("/")
    if address in staff:
        return f"{base}/tasks/{task.id}"
    kind: LinkKind
    if address == (task.assignee or "").lower() and task.assignee_trusted:
        kind = "assignee"
    elif lead:
        kind = "lead"
    else:
        return None
    keyring = settings.unsubscribe_link_keys().keyring
    return links.url(base, keyring, TaskLink(task.tenant, task.id, address, kind))
