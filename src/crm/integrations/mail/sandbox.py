"""The sandbox mail server of `crm run`: a real SMTP server (aiosmtpd) that keeps every message it receives as
a .eml file instead of delivering it, and a staff page (/sandbox/mail) that shows them. Started only when no
CRM_SMTP_HOST is configured, so the demo's e-mails (staff notifications, e-mails to leads) go somewhere
visible."""

from __future__ import annotations

import email
import email.policy
import socket
import time
from pathlib import Path

from litestar import Request, Response, Router, get

from crm.core.guards import requires
from crm.core.masking import mask_addresses
from crm.core.org.staff import staff_addresses
from crm.core.permissions import Permission
from crm.core.web import render


class _Keeper:
    def __init__(self, folder: Path):
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.count += 1
        name = f"{time.time_ns()}-{self.count}.eml"
        (self.folder / name).write_bytes(envelope.original_content or envelope.content)
        return "250 Kept by the CRM mail sandbox"


class MailSandbox:
    def __init__(self, folder: Path):
        self.folder = folder
        self.controller = None

    def start(self) -> int:
        """Listen on a free loopback port; returns it."""
        from aiosmtpd.controller import Controller

        self.folder.mkdir(parents=True, exist_ok=True)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.controller = Controller(_Keeper(self.folder), hostname="127.0.0.1", port=port)
        self.controller.start()
        return port

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()


def read_mailbox(folder: Path, limit: int = 200) -> list[dict]:
    """The newest messages first: from, to, subject, date, plain-text body."""
    messages = []
    for path in sorted(folder.glob("*.eml"), reverse=True)[:limit]:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        part = message.get_body(preferencelist=("plain",))
        messages.append(
            {
                "id": path.stem,
                "from": message["From"],
                "to": message["To"],
                "subject": message["Subject"],
                "date": message["Date"] or "",
                "message_id": message["Message-ID"] or "",
                "body": part.get_content() if part else "",
            }
        )
    return messages


def masked(message: dict, staff: set[str]) -> dict:
    """The message with every address that is not a staff member's masked (leads' and clients' addresses are
    personal data, shown masked here as on every screen)."""
    fields = ("from", "to", "subject", "body", "message_id")
    return message | {k: mask_addresses(message[k], staff) for k in fields}


@get("/sandbox/mail", name="sandbox.mail", guards=[requires(Permission.SYSTEM_AUTOMATION_VIEW)])
async def mailbox(request: Request) -> Response:
    folder = Path(request.app.state.settings.mail_sandbox_dir)
    staff = await staff_addresses()
    messages = [masked(m, staff) for m in read_mailbox(folder)]
    return render(request, "staff/sandbox_mail.html", {"messages": messages, "folder": str(folder)})


def mail_sandbox_router() -> Router:
    return Router(path="/", route_handlers=[mailbox], include_in_schema=False)
