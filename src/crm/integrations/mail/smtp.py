"""The SMTP adapter: one way out (CRM_SMTP_HOST), read from the environment at each send so a changed setting
applies without a restart. `crm run` points it at the sandbox mail server when no server is configured."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage

from crm.core.mail import OutgoingMail
from crm.settings import Settings


class SmtpTransport:
    """A `crm.core.mail.MailTransport` over SMTP."""

    def __init__(self, settings: Settings | None = None):
        self._settings = settings

    async def send(self, mail: OutgoingMail) -> str:
        settings = self._settings or Settings.from_env()
        if not settings.smtp_host:
            raise RuntimeError("no SMTP server configured (CRM_SMTP_HOST)")
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = settings.smtp_from, mail.to, mail.subject
        message["Message-ID"] = mail.message_id
        if mail.reply_to:
            message["Reply-To"] = mail.reply_to
        message.set_content(mail.body)

        def send() -> None:
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
                smtp.send_message(message)

        await asyncio.to_thread(send)
        return mail.message_id
