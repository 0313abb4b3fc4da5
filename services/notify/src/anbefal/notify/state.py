"""What notify's routes share for the life of the process, built once in its wiring."""

from __future__ import annotations

from dataclasses import dataclass

from anbefal.notify.settings import NotifySettings
from anbefal.notify.staff.service import Logins


@dataclass(frozen=True)
class NotifyState:
    settings: NotifySettings
    logins: Logins
