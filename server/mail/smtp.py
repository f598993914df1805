"""Sending one message over SMTP with the standard library, as the settings say (STARTTLS, implicit TLS or a plain
local relay; a login when a username is set), and telling a failure worth retrying from a final one.

smtplib blocks, so each send runs in a worker thread: the event loop never waits on a mail server.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage

from server.settings import Settings


class SendFailure(Exception):
    """The server did not take the message; `permanent` when retrying cannot help (a 5xx answer)."""

    def __init__(self, reason: str, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class SmtpSender:
    def __init__(self, settings: Settings) -> None:
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.security = settings.smtp_security
        self.username = settings.smtp_username
        self.password = settings.smtp_password
        self.timeout_s = settings.smtp_timeout_s

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s, context=ssl.create_default_context())
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        if self.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        return smtp

    def send_now(self, message: EmailMessage) -> None:
        """Blocking: hand `message` to the server, or raise SendFailure."""
        try:
            with self._connect() as smtp:
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise SendFailure(f"recipients refused: {exc.recipients}", all(c >= 500 for c in codes)) from exc
        except smtplib.SMTPResponseException as exc:
            text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
            raise SendFailure(f"{exc.smtp_code} {text}", exc.smtp_code >= 500) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise SendFailure(f"{type(exc).__name__}: {exc}", False) from exc

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self.send_now, message)
