"""E-mail served: the outbox table (outbox.py), and, when SMTP is configured, the worker that sends it (worker.py,
smtp.py); `Mail` is the one service the app starts, stops and hands to the invitations and the REST API."""

from __future__ import annotations

from email.utils import parseaddr

from hr.calendar_invite import Person
from server.db.store import Store
from server.mail.outbox import MailOutbox
from server.mail.smtp import SmtpSender
from server.mail.worker import MailWorker
from server.settings import Settings


class Mail:
    """The mail outbox on the store's database and, with SMTP configured, this node's sending worker."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        name, address = parseaddr(settings.mail_from)
        self.sender = Person(address, name or "Shanmian")
        # Message-IDs name the sender's domain, as mail servers expect of their own users' messages.
        self.domain = address.rpartition("@")[2]
        self._outbox: MailOutbox | None = None
        self._worker: MailWorker | None = None

    @property
    def outbox(self) -> MailOutbox:
        if self._outbox is None:
            raise RuntimeError("mail is not started (or already stopped)")
        return self._outbox

    def start(self, store: Store) -> None:
        smtp = SmtpSender(self.settings) if self.settings.smtp_host else None
        self._outbox = MailOutbox(store.engine, vault=store.vault, sending=smtp is not None)
        if smtp is not None:
            self._worker = MailWorker(self._outbox, smtp)
            self._outbox.on_added = self._worker.wake
            self._worker.start()

    async def aclose(self) -> None:
        if self._worker is not None:
            await self._worker.aclose()
        self._outbox = self._worker = None
