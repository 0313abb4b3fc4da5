"""notify's table of single sign-on providers (`sso/`), beside `models.py`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, String, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from anbefal.notify.models import Base


class SsoProvider(Base):
    """A tenant's OpenID Connect provider. The client secret is a credential: sealed with the
    deployment's data keys (context: the tenant), never returned or logged. `domains` says whose
    email addresses sign in here (one tenant per domain); `roles` maps values of the
    `group_claim` claim to staff roles, `default_role` is for members of no mapped group (None:
    they are refused)."""

    __tablename__ = "sso_providers"
    # "Which tenant signs in alice@acme.example?" is asked at every SSO login.
    __table_args__ = (Index("ix_sso_providers_domains", "domains", postgresql_using="gin"),)

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(500))
    client_secret_sealed: Mapped[str] = mapped_column(Text)
    domains: Mapped[list[str]] = mapped_column(ARRAY(String(253)))
    group_claim: Mapped[str] = mapped_column(String(100))
    roles: Mapped[dict[str, Any]] = mapped_column(JSONB)
    default_role: Mapped[str | None] = mapped_column(String(20))
    updated_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
