"""Webhook signature schemes, checked on the raw bytes against every active secret (so a secret can be rotated
while senders still use the old one).

- `TimestampedHmac` (the default, Stripe's scheme): `<header>: t=<unix time>,v1=<hex>[,v1=<hex>]`, the
  HMAC-SHA256 of `"<t>." + raw body`; a timestamp further than `tolerance_s` from now is refused, so a
  captured request cannot be replayed later, and the inbox's unique event id refuses it within the window.
- `BodyHmac` (for providers that cannot send a timestamp, e.g. social-ad lead forms): `sha256=<hex>` of the
  raw body. Nothing dates it, so the inbox dedupes on the sender's event id, or on the body's hash when
  there is none.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Verification:
    ok: bool
    reason: str  # what an operator reads on the inbox screen; the sender gets it in the 401 too
    secret_index: int | None = None  # which of the active secrets matched (0 = the current one)
    timestamp: int | None = None


class SignatureScheme(Protocol):
    name: str
    header: str

    def verify(
        self, body: bytes, headers: Mapping[str, str], secrets: Sequence[str], now: float | None = None
    ) -> Verification: ...

    def sign(self, secret: str, body: bytes, timestamp: int | None = None) -> str: ...


def _mac(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def _matching(secrets: Sequence[str], payload: bytes, offered: Sequence[str]) -> int | None:
    for index, secret in enumerate(secrets):
        if not secret:
            continue
        expected = _mac(secret, payload)
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return index
    return None


@dataclass(frozen=True)
class TimestampedHmac:
    header: str = "X-Crm-Signature"
    tolerance_s: int = 300
    name: str = "timestamped"

    def sign(self, secret: str, body: bytes, timestamp: int | None = None) -> str:
        t = int(time.time()) if timestamp is None else timestamp
        return f"t={t},v1={_mac(secret, f'{t}.'.encode() + body)}"

    def verify(
        self, body: bytes, headers: Mapping[str, str], secrets: Sequence[str], now: float | None = None
    ) -> Verification:
        raw = headers.get(self.header.lower()) or headers.get(self.header) or ""
        if not raw:
            return Verification(False, f"no {self.header} header")
        parts = [p.strip().partition("=") for p in raw.split(",")]
        stamps = [v for k, _, v in parts if k == "t"]
        offered = [v for k, _, v in parts if k == "v1"]
        stamp = stamps[0] if len(stamps) == 1 else ""
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12) or not offered:
            return Verification(False, f"{self.header} must read t=<unix time>,v1=<hex HMAC-SHA256>")
        t = int(stamp)
        skew = abs((time.time() if now is None else now) - t)
        if skew > self.tolerance_s:
            return Verification(
                False, f"timestamp {int(skew)} s from now (tolerance {self.tolerance_s} s)", timestamp=t
            )
        index = _matching(secrets, f"{t}.".encode() + body, offered)
        if index is None:
            return Verification(False, "signature does not match", timestamp=t)
        return Verification(True, "signature ok" + (" (previous secret)" if index else ""), index, t)


@dataclass(frozen=True)
class BodyHmac:
    header: str = "X-Hub-Signature-256"
    prefix: str = "sha256="
    name: str = "body"

    def sign(self, secret: str, body: bytes, timestamp: int | None = None) -> str:
        return self.prefix + _mac(secret, body)

    def verify(
        self, body: bytes, headers: Mapping[str, str], secrets: Sequence[str], now: float | None = None
    ) -> Verification:
        raw = (headers.get(self.header.lower()) or headers.get(self.header) or "").strip()
        if not raw:
            return Verification(False, f"no {self.header} header")
        if not raw.startswith(self.prefix):
            return Verification(False, f"{self.header} must read {self.prefix}<hex HMAC-SHA256 of the body>")
        index = _matching(secrets, body, [raw.removeprefix(self.prefix)])
        if index is None:
            return Verification(False, "signature does not match")
        return Verification(
            True,
            "signature ok (no timestamp: deduplicated by event id)" + (" (previous secret)" if index else ""),
            index,
        )


SCHEMES: dict[str, SignatureScheme] = {"timestamped": TimestampedHmac(), "body": BodyHmac()}
