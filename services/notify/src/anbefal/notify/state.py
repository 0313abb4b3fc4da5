"""What notify's routes share for the life of the process, built once in its wiring."""

from __future__ import annotations

from dataclasses import dataclass, field

from anbefal.notify.settings import NotifySettings
from anbefal.notify.sso.oidc import Provider
from anbefal.notify.staff.service import Logins


@dataclass(frozen=True)
class NotifyState:
    settings: NotifySettings
    logins: Logins
    # Single sign-on providers' discovery documents and keys, cached for the process.
    sso: Provider = field(default_factory=Provider)
