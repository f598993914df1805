"""The SMTP worker: claims due messages from the mail outbox, sends each over SMTP and records the outcome, retrying
a temporary failure on a schedule; any number of nodes may run one on the same database.

A message is claimed with a lease before it is sent: should its node die after the server took it but before the
outcome was recorded, it goes out once more when the lease ends, with the same Message-ID (at least once, never
lost). Two live workers never send the same message.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from server.mail.outbox import MailOutbox, MailState, parse_message
from server.mail.smtp import SendFailure, SmtpSender
from server.polling import PollingWorker

log = logging.getLogger(__name__)

BATCH = 10
POLL_S = 5.0  # how often the table is read when nothing woke the worker (another node's messages, retries)


class MailWorker(PollingWorker):
    def __init__(self, outbox: MailOutbox, sender: SmtpSender, *, poll_s: float = POLL_S) -> None:
        super().__init__("mail worker", "mw", poll_s)
        self.outbox = outbox
        self.sender = sender
        # Longer than the slowest possible send (connect, TLS, login, data, each under the timeout).
        self.lease = timedelta(seconds=sender.timeout_s * 5)

    async def run_once(self) -> int:
        """Claim what is due and try each once; returns how many were tried."""
        claimed = await self.outbox.claim(self.name, self.lease, BATCH)
        for row in claimed:
            error, permanent = None, False
            try:
                await self.sender.send(parse_message(self.outbox.source(row)))
            except SendFailure as exc:
                error, permanent = exc.reason, exc.permanent
            state = await self.outbox.settle(row, self.name, error, permanent)
            if state != MailState.SENT:
                log.warning("mail %s (%s) not sent, now %s: %s", row.id, row.kind, state, error)
        return len(claimed)
