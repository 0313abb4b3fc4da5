"""A tenant's named themes and the built-in ones (pure): each theme is a name and its keywords,
single words or phrases, in any language the stemmers know (Danish and English)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Theme:
    name: str
    keywords: tuple[str, ...]


# Used until a tenant names its own (`PUT /v1/tenants/{t}/themes/config`). The name is Danish,
# the keywords both languages.
DEFAULT_THEMES: tuple[Theme, ...] = (
    Theme("Pris", ("pris", "dyr", "dyrt", "billig", "billigt", "rabat", "price", "pricing",
                   "expensive", "cheap", "cost")),
    Theme("Support", ("support", "service", "kundeservice", "ventetid", "hotline", "helpdesk",
                      "customer service", "wait time")),
    Theme("Levering", ("levering", "leverance", "fragt", "delivery", "shipping", "shipment")),
    Theme("Kvalitet", ("kvalitet", "fejl", "defekt", "quality", "defect", "broken")),
    Theme("Kontaktperson", ("kontaktperson", "sælger", "rådgiver", "contact person",
                            "account manager", "salesperson")),
    Theme("Produkt", ("produkt", "sortiment", "product", "feature", "range")),
)  # fmt: skip
