"""The e-mail adapter: one way out by SMTP (CRM_SMTP_HOST), used for staff notifications and e-mails to leads and
clients. `crm run` starts a sandbox SMTP server (devstack.MailSandbox) when none is configured, and shows what it
received at /sandbox/mail."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

from crm.settings import Settings


def new_message_id(settings: Settings) -> str:
    """A Message-ID fixed before the first try, so a re-sent message is recognisable as the same one."""
    domain = settings.smtp_from.rpartition("@")[2] or "localhost"
    return make_msgid(domain=domain)


async def send_mail(settings: Settings, to: str, subject: str, body: str, *, message_id: str | None = None,
                    reply_to: str | None = None) -> str:
    """Send a plain-text e-mail; returns its Message-ID. Raises if no server is configured or it refuses."""
    if not settings.smtp_host:
        raise RuntimeError("no SMTP server configured (CRM_SMTP_HOST)")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.smtp_from, to, subject
    message["Message-ID"] = message_id or new_message_id(settings)
    if reply_to:
        message["Reply-To"] = reply_to
    message.set_content(body)

    def send() -> None:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
            smtp.send_message(message)

    await asyncio.to_thread(send)
    return message["Message-ID"]
