"""Masked display forms of personal data, the same on every screen: they identify nothing but hint at the
shape (for matching against a caller). Revealing the real value is an audited act of the clients area."""

from __future__ import annotations

import re

_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


def mask(field: str, value: str | None) -> str:
    if not value:
        return ""
    if field == "email":
        local, _, domain = value.partition("@")
        tld = domain.rsplit(".", 1)[-1] if "." in domain else ""
        return f"{local[:1]}•••@•••.{tld}"
    keep = {"phone": 2, "id_number": 3, "bank_account": 4}.get(field, 0)
    return "•" * max(4, len(value) - keep) + (value[-keep:] if keep else "")


def mask_addresses(text: str | None, keep: set[str] = frozenset()) -> str:
    """`text` with every e-mail address masked, except those in `keep` (lower case)."""
    if not text:
        return ""
    return _ADDRESS.sub(
        lambda m: m.group(0) if m.group(0).lower() in keep else mask("email", m.group(0)), text
    )
