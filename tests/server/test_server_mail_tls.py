"""SMTP over TLS, as production mail servers want it: STARTTLS then a login, and implicit TLS, each against a real
aiosmtpd server holding a certificate made here (trusted through SSL_CERT_FILE, as an operator's CA bundle would
be); an untrusted certificate is a failure to retry, never a message sent in the clear.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from server.mail.smtp import SendFailure, SmtpSender
from server.settings import Settings


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.logins: list[bytes] = []
        self.tls: list[bool] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.messages.append(envelope.content)
        self.tls.append(server.transport is not None and server.transport.get_extra_info("ssl_object") is not None)
        return "250 OK"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.logins.append(auth_data.login)
        return AuthResult(success=auth_data.password == b"s3cret", handled=False)  # not handled: aiosmtpd answers 535


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "smtp.pem", tmp_path / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def message() -> EmailMessage:
    m = EmailMessage()
    m["From"] = "Acme Hiring <jobs@acme.example>"
    m["To"] = "Ada <ada@candidates.example>"
    m["Subject"] = "Invitation: your interview for Night shift lead"
    m.set_content("Open your link: https://interviews.acme.example/invite/inv_1?token=abc\n")
    return m


def sender(port: int, security: str, **extra: str) -> SmtpSender:
    return SmtpSender(
        Settings.from_env(
            {}, api_key="k", smtp_host="localhost", smtp_port=port, smtp_security=security, smtp_timeout_s=10, **extra
        )
    )


@pytest.fixture
def trusted(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    yield


def started(controller: Controller) -> Controller:
    controller.start()
    return controller


async def test_starttls_then_login_then_the_message(
    certificate: tuple[Path, Path], trusted: None, free_port: Callable[[], int]
) -> None:
    inbox, port = Inbox(), free_port()
    controller = started(
        Controller(
            inbox,
            hostname="127.0.0.1",
            port=port,
            tls_context=server_context(certificate),
            require_starttls=True,
            authenticator=inbox.authenticate,
            auth_required=True,
        )
    )
    try:
        await sender(port, "starttls", smtp_username="hr-relay", smtp_password="s3cret").send(message())
    finally:
        controller.stop()
    assert inbox.logins == [b"hr-relay"] and inbox.tls == [True]
    assert b"Subject: Invitation: your interview for Night shift lead" in inbox.messages[0]


async def test_implicit_tls(certificate: tuple[Path, Path], trusted: None, free_port: Callable[[], int]) -> None:
    inbox, port = Inbox(), free_port()
    controller = started(Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=server_context(certificate)))
    try:
        await sender(port, "tls").send(message())
    finally:
        controller.stop()
    assert len(inbox.messages) == 1 and inbox.tls == [True]


async def test_an_untrusted_certificate_is_a_failure_to_retry_and_nothing_is_sent(
    certificate: tuple[Path, Path], free_port: Callable[[], int]
) -> None:
    inbox, port = Inbox(), free_port()
    controller = started(
        Controller(
            inbox, hostname="127.0.0.1", port=port, tls_context=server_context(certificate), require_starttls=True
        )
    )
    try:
        with pytest.raises(SendFailure) as failed:
            await sender(port, "starttls").send(message())
    finally:
        controller.stop()
    assert not failed.value.permanent and "CERTIFICATE_VERIFY_FAILED" in failed.value.reason
    assert inbox.messages == []


async def test_a_wrong_password_is_a_permanent_failure(
    certificate: tuple[Path, Path], trusted: None, free_port: Callable[[], int]
) -> None:
    inbox, port = Inbox(), free_port()
    controller = started(
        Controller(
            inbox,
            hostname="127.0.0.1",
            port=port,
            tls_context=server_context(certificate),
            require_starttls=True,
            authenticator=inbox.authenticate,
            auth_required=True,
            auth_exclude_mechanism=["LOGIN"],  # one mechanism: smtplib tries the next on a refusal
        )
    )
    try:
        with pytest.raises(SendFailure) as failed:
            await sender(port, "starttls", smtp_username="hr-relay", smtp_password="wrong").send(message())
    finally:
        controller.stop()
    assert failed.value.permanent and "535" in failed.value.reason and inbox.messages == []
