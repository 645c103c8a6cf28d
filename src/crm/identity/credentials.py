"""Password hashing (argon2id), TOTP and recovery codes: pure functions, no database."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from crm.core.errors import ValidationFailed

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# A real hash to verify against when the email is unknown, so timing does not reveal which emails exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def check_password_strength(password: str, *, email: str = "") -> None:
    """Raise ValidationFailed unless the password is long and not built from the email."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"at least {MIN_PASSWORD_LENGTH} characters")
    if email and email.split("@")[0].lower() in password.lower():
        problems.append("not containing your email name")
    if len(set(password)) < 6:
        problems.append("at least 6 different characters")
    if problems:
        raise ValidationFailed(
            "Password too weak", field_errors={"password": "Use " + ", ".join(problems) + "."}
        )


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, email: str, issuer: str = "Brokerage CRM") -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def totp_qr_svg(uri: str) -> str:
    """An inline SVG QR code of the provisioning URI (no external image service)."""
    return segno.make(uri, error="m").svg_inline(scale=4, dark="#111827", light="#ffffff")


def totp_step(secret: str | None, code: str, now: float | None = None) -> int | None:
    """The time step (30 s counter) whose code this is: the current one or one either side for clock drift;
    None when it matches none. The caller refuses a step at or before the last one used (no replay)."""
    code = "".join(ch for ch in code if ch in "0123456789")
    if not secret or len(code) != 6:
        return None
    totp, when = pyotp.TOTP(secret), time.time() if now is None else now
    for offset in (-1, 0, 1):
        moment = when + offset * totp.interval
        if hmac.compare_digest(totp.at(moment), code):
            return int(moment // totp.interval)  # pyotp's counter (time steps since the epoch)
    return None


def new_recovery_codes(count: int = 10) -> list[str]:
    return [f"{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}" for _ in range(count)]


def recovery_code_hash(code: str) -> str:
    normalised = code.strip().lower().replace(" ", "")
    return hashlib.sha256(normalised.encode()).hexdigest()


def new_session_token() -> tuple[str, str]:
    """A random cookie token and the SHA-256 stored for it."""
    token = secrets.token_urlsafe(32)
    return token, session_token_hash(token)


def session_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
