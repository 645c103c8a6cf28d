"""How the core sends e-mail without knowing how: a `MailTransport` installed by the entry point (the SMTP
adapter in `crm.integrations.mail`), used by staff notifications and by areas writing to leads and clients."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import make_msgid
from typing import Protocol

from crm.settings import Settings


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    subject: str
    body: str
    message_id: str
    reply_to: str | None = None


class MailTransport(Protocol):
    async def send(self, mail: OutgoingMail) -> str:
        """Hand the message to the mail system; returns its Message-ID. Raises if it is refused."""


_transport: MailTransport | None = None


def use_mail_transport(transport: MailTransport) -> None:
    """Called by the entry points (crm.areas.load_areas) with the configured adapter."""
    global _transport
    _transport = transport


def new_message_id(settings: Settings) -> str:
    """A Message-ID fixed before the first try, so a re-sent message is recognisable as the same one."""
    domain = settings.smtp_from.rpartition("@")[2] or "localhost"
    return make_msgid(domain=domain)


async def send_mail(
    to: str, subject: str, body: str, *, message_id: str | None = None, reply_to: str | None = None
) -> str:
    """Send a plain-text e-mail through the installed transport; returns its Message-ID."""
    if _transport is None:
        raise RuntimeError("no mail transport installed (crm.areas.load_areas installs one)")
    return await _transport.send(
        OutgoingMail(to, subject, body, message_id or new_message_id(Settings.from_env()), reply_to)
    )
