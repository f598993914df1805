"""hr.invitations and hr.invitation_email as plain decisions: the Idempotency-Key rule in each case, the link's
state at its edges and the candidate's message in their language, bulk planning and each refusal, and the
invitation e-mail in English and Chinese read back through a real SMTP server (aiosmtpd).

The inviter running on the real database store is tested in tests/server/test_server_invitations_store.py.
"""

from __future__ import annotations

import email
import smtplib
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from hr.calendar_invite import Person
from hr.invitations import (
    KEY_LEASE,
    KEY_TTL,
    DuplicateCandidatesError,
    InvalidAddressError,
    Invitation,
    Invitee,
    InviteJob,
    InviteRequest,
    JobNotReadyError,
    KeyDecision,
    KeyRecord,
    LinkExpiredError,
    LinkRevokedError,
    LinkState,
    PlannedInvitation,
    UnknownCandidatesError,
    UnknownJobError,
    check_link,
    decide,
    fingerprint,
    plan_invitations,
)

NOW = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
SENDER = Person("jobs@acme.example", "Acme Hiring")
JOB = InviteJob("job1", "Warehouse Supervisor", "en", ready=True)
REQUEST = InviteRequest("job1", ("c1", "c2"), "voice", timedelta(days=14))
INVITEES = [Invitee("c1", "Ada Lovelace", "ada@candidates.example"), Invitee("c2", "Bo Chen", None)]


def link_for(invitation: Invitation) -> str:
    return f"https://interviews.acme.example/invite/{invitation.id}?token={invitation.token}"


def plan(
    request: InviteRequest = REQUEST, job: InviteJob | None = JOB, invitees: list[Invitee] = INVITEES
) -> list[PlannedInvitation]:
    return plan_invitations(
        request, job, invitees, now=NOW, link_for=link_for, sender=SENDER, message_domain="acme.example"
    )


# --- the Idempotency-Key rule -----------------------------------------------------------------------------------

FP = fingerprint(b'{"job_id":"job1"}')
IN_PROGRESS = KeyRecord("k", FP, created_at=NOW, locked_until=NOW + KEY_LEASE)
DONE = replace(IN_PROGRESS, answer='{"invitations": []}', status_code=201)


def test_a_new_key_proceeds() -> None:
    assert decide(None, FP, NOW) is KeyDecision.PROCEED


def test_the_same_body_after_its_answer_replays_it() -> None:
    assert decide(DONE, FP, NOW + timedelta(hours=23)) is KeyDecision.REPLAY


def test_the_same_body_while_the_first_is_handled_is_in_progress() -> None:
    assert decide(IN_PROGRESS, FP, NOW + KEY_LEASE - timedelta(seconds=1)) is KeyDecision.IN_PROGRESS


def test_another_body_under_the_key_is_a_mismatch_whether_answered_or_not() -> None:
    other = fingerprint(b'{"job_id":"job2"}')
    assert other != FP
    assert decide(DONE, other, NOW) is KeyDecision.MISMATCH
    assert decide(IN_PROGRESS, other, NOW) is KeyDecision.MISMATCH


def test_a_key_whose_request_died_is_taken_over_after_its_lease() -> None:
    assert decide(IN_PROGRESS, FP, NOW + KEY_LEASE) is KeyDecision.PROCEED


def test_a_key_is_forgotten_after_a_day_so_it_may_carry_a_new_request() -> None:
    other = fingerprint(b"another body")
    assert decide(DONE, other, NOW + KEY_TTL) is KeyDecision.PROCEED
    assert decide(DONE, FP, NOW + KEY_TTL - timedelta(seconds=1)) is KeyDecision.REPLAY


# --- the link ---------------------------------------------------------------------------------------------------

INVITATION = Invitation(
    id="inv_1",
    job_id="job1",
    candidate_id="c1",
    interview_id="iv1",
    token="tok",
    language="en",
    mode="voice",
    created_at=NOW,
    expires_at=NOW + timedelta(days=14),
)


def test_the_link_is_open_until_the_instant_it_expires() -> None:
    last = INVITATION.expires_at - timedelta(microseconds=1)
    assert INVITATION.state(last) is LinkState.OPEN
    check_link(INVITATION, last)
    assert INVITATION.state(INVITATION.expires_at) is LinkState.EXPIRED
    with pytest.raises(LinkExpiredError, match=r"expired on 2027-03-15 09:30 \(UTC\)") as expired:
        check_link(INVITATION, INVITATION.expires_at)
    assert expired.value.code == "invitation_expired"


def test_a_revoked_link_is_closed_even_before_it_would_expire_and_says_so_in_chinese() -> None:
    revoked = replace(INVITATION, language="zh", revoked_at=NOW + timedelta(hours=1))
    assert revoked.state(NOW + timedelta(hours=2)) is LinkState.REVOKED
    with pytest.raises(LinkRevokedError, match="招聘方已撤回此邀请") as closed:
        check_link(revoked, NOW + timedelta(hours=2))
    assert closed.value.code == "invitation_revoked"


# --- planning an invite -----------------------------------------------------------------------------------------


def test_each_candidate_gets_an_invitation_in_the_order_asked_and_those_with_an_address_an_email() -> None:
    ada, bo = plan()

    assert [p.invitation.candidate_id for p in (ada, bo)] == ["c1", "c2"]
    for p in (ada, bo):
        assert p.invitation.job_id == "job1" and p.invitation.language == "en" and p.invitation.mode == "voice"
        assert p.invitation.created_at == NOW and p.invitation.expires_at == NOW + timedelta(days=14)
        assert p.invitation.revoked_at is None and p.invitation.state(NOW) is LinkState.OPEN
    assert ada.invitation.token != bo.invitation.token and len(ada.invitation.token) >= 32
    assert ada.invitation.interview_id != bo.invitation.interview_id
    assert ada.email is not None and ada.mail_id is not None and ada.mail_id.startswith("ml_")
    assert bo.email is None and bo.mail_id is None


def test_an_unknown_job_is_refused() -> None:
    with pytest.raises(UnknownJobError, match="job_id 'job1' does not exist"):
        plan(job=None)


def test_a_job_whose_plan_is_being_drafted_is_refused() -> None:
    with pytest.raises(JobNotReadyError, match="still being drafted"):
        plan(job=replace(JOB, ready=False))


def test_a_candidate_listed_twice_is_refused() -> None:
    with pytest.raises(DuplicateCandidatesError, match="more than once: c1"):
        plan(request=replace(REQUEST, candidate_ids=("c1", "c2", "c1")))


def test_unknown_candidates_are_refused_by_id() -> None:
    with pytest.raises(UnknownCandidatesError, match="do not exist: c3, c4") as refused:
        plan(request=replace(REQUEST, candidate_ids=("c1", "c3", "c4")))
    assert refused.value.code == "unknown_candidates"


# --- the e-mail -------------------------------------------------------------------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.messages.append(envelope.content)
        return "250 OK"


def through_smtp(message: EmailMessage, port: int) -> tuple[EmailMessage, bytes]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.send_message(message)
    finally:
        controller.stop()
    (raw,) = inbox.messages
    received = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(received, EmailMessage)
    return received, raw


def test_the_english_invitation_arrives_with_the_link_and_its_expiry(free_port: Callable[[], int]) -> None:
    (ada, _) = plan()
    assert ada.email is not None
    received, _ = through_smtp(ada.email, free_port())

    assert received["From"] == "Acme Hiring <jobs@acme.example>"
    assert received["To"] == "Ada Lovelace <ada@candidates.example>"
    assert received["Subject"] == "Invitation: your interview for Warehouse Supervisor"
    assert received["Message-ID"].endswith("@acme.example>") and received["Content-Language"] == "en"
    text = received.get_body(("plain",))
    assert text is not None
    body = text.get_content()
    assert body.startswith("Hello Ada Lovelace,")
    assert link_for(ada.invitation) in body
    assert "The link works until Mon 15 Mar 2027, 09:30 (UTC)." in body


def test_the_chinese_invitation_is_chinese_and_travels_7bit_clean(free_port: Callable[[], int]) -> None:
    zh_job = replace(JOB, title="仓库主管", language="zh")
    (li,) = plan(
        request=replace(REQUEST, candidate_ids=("c9",)), job=zh_job, invitees=[Invitee("c9", "李伟", "li@x.example")]
    )
    assert li.email is not None and li.invitation.language == "zh"
    received, raw = through_smtp(li.email, free_port())

    assert all(b < 128 for b in raw), "quoted-printable and encoded headers: no 8-bit bytes on the wire"
    assert received["Subject"] == "面试邀请：仓库主管" and received["To"].addresses[0].display_name == "李伟"
    assert received["Content-Language"] == "zh-CN"
    text = received.get_body(("plain",))
    assert text is not None
    body = text.get_content()
    assert body.startswith("李伟，您好：") and link_for(li.invitation) in body
    assert "该链接在2027年3月15日 09:30（UTC）前有效" in body


@pytest.mark.parametrize("address", ["not-an-address", "ada@localhost", "Ada <ada@x.example>", "a b@x.example"])
def test_a_candidate_whose_email_is_not_an_address_is_refused_by_id(address: str) -> None:
    with pytest.raises(InvalidAddressError, match=r"not an address: c1 \(") as refused:
        plan(invitees=[Invitee("c1", "Ada", address), INVITEES[1]])
    assert refused.value.code == "invalid_email"


def test_a_name_or_title_typed_with_line_breaks_becomes_one_header_line() -> None:
    job = replace(JOB, title="Warehouse\r\nSupervisor")
    (ada,) = plan(
        request=replace(REQUEST, candidate_ids=("c1",)),
        job=job,
        invitees=[Invitee("c1", "Ada\nBcc: eve@evil.example", "ada@candidates.example")],
    )
    assert ada.email is not None
    assert ada.email["To"] == '"Ada Bcc: eve@evil.example" <ada@candidates.example>'  # a quoted display name
    assert ada.email["Subject"] == "Invitation: your interview for Warehouse Supervisor"
    assert ada.email["Bcc"] is None
