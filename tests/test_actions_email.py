"""email.send against real SMTP servers (aiosmtpd) on 127.0.0.1: plain with AUTH, STARTTLS and SMTPS.

TLS uses a throwaway CA from ``trustme``; the client trusts it the way a
deployment would trust a private CA, through ``SSL_CERT_FILE`` (read by
OpenSSL's default verify paths), so certificate and host-name checks run
for real.
"""

from __future__ import annotations

import email
import email.policy  # the Inbox parses with it; importing email alone does not load it
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from jetnb.actions import ActionError, ConnectionFailed
from jetnb.actions import email as mail

USER, PASSWORD = "robot@example.com", "pw-S3CRET-mail"


@dataclass
class Inbox:
    """The aiosmtpd handler: keeps each delivered message and who logged in."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    tls: list[bool] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        self.tls.append(server.transport.get_extra_info("ssl_object") is not None)
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (USER.encode(), PASSWORD.encode())
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., tuple[Inbox, int]]]:
    """Start an SMTP server with the given aiosmtpd options; every server started is stopped afterwards."""
    started: list[Controller] = []

    def start(**options: Any) -> tuple[Inbox, int]:
        inbox, port = Inbox(), free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=inbox.authenticate, **options)
        controller.start()
        started.append(controller)
        return inbox, port

    yield start
    for controller in started:
        controller.stop()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.fixture
def trusted(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The client trusts the test CA (and nothing else) through OpenSSL's SSL_CERT_FILE."""
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))


def url(port: int, scheme: str = "smtp", query: str = "") -> str:
    return f"{scheme}://robot%40example.com:{PASSWORD}@127.0.0.1:{port}{'?' + query if query else ''}"


def test_plain_smtp_with_login_sends_text_html_and_attachments(smtp_server, tmp_path: Path) -> None:
    inbox, port = smtp_server(auth_require_tls=False)
    report = tmp_path / "report.csv"
    report.write_text("order,amount\n1001,42.50\n")
    message_id = mail.send(["Ada <ada@example.com>", "bob@example.com"], "Refunds today", "Two refunds.",
                           html="<p>Two <b>refunds</b>.</p>", attachments=[report, ("logo.png", b"\x89PNG", "image/png")],
                           smtp_url=url(port, query="starttls=never"))
    assert inbox.logins == [USER] and inbox.tls == [False]
    assert inbox.envelopes == [(USER, ["ada@example.com", "bob@example.com"])]
    got = inbox.messages[0]
    assert got["Message-ID"] == message_id and message_id.endswith("@example.com>")
    assert (got["From"], got["To"], got["Subject"]) == (USER, "Ada <ada@example.com>, bob@example.com", "Refunds today")
    assert got.get_body(("plain",)).get_content().strip() == "Two refunds."
    assert got.get_body(("html",)).get_content().strip() == "<p>Two <b>refunds</b>.</p>"
    parts = {part.get_filename(): part for part in got.iter_attachments()}
    assert parts["report.csv"].get_content_type() == "text/csv"
    assert parts["report.csv"].get_payload(decode=True) == report.read_bytes()
    assert parts["logo.png"].get_content_type() == "image/png" and parts["logo.png"].get_payload(decode=True) == b"\x89PNG"


def test_the_password_is_never_sent_in_clear_unless_the_url_says_so(smtp_server) -> None:
    inbox, port = smtp_server(auth_require_tls=False)
    with pytest.raises(ActionError, match="does not offer STARTTLS; refusing to send the password unencrypted"):
        mail.send("ada@example.com", "hi", "body", smtp_url=url(port))
    with pytest.raises(ActionError, match="does not offer STARTTLS, and the URL says starttls=require"):
        mail.send("ada@example.com", "hi", "body", smtp_url=url(port, query="starttls=require"))
    assert inbox.messages == [] and inbox.logins == []


def test_a_refused_login_names_the_server_and_never_the_password(smtp_server) -> None:
    inbox, port = smtp_server(auth_require_tls=False)
    wrong = f"smtp://robot%40example.com:pw-WRONG-S3CRET@127.0.0.1:{port}?starttls=never"
    with pytest.raises(ActionError) as caught:
        mail.send("ada@example.com", "hi", "body", smtp_url=wrong)
    assert str(caught.value).startswith(f"SMTP 127.0.0.1:{port} refused the login: 535 ")
    assert "pw-WRONG-S3CRET" not in str(caught.value) and inbox.messages == []


def test_starttls_upgrades_and_verifies_the_certificate(smtp_server, server_tls: ssl.SSLContext, trusted) -> None:
    inbox, port = smtp_server(tls_context=server_tls, require_starttls=True, auth_require_tls=True)
    mail.send("ada@example.com", "over TLS", "body", smtp_url=url(port))
    assert inbox.logins == [USER] and inbox.tls == [True]


def test_smtps_is_tls_from_the_first_byte(smtp_server, server_tls: ssl.SSLContext, trusted) -> None:
    # aiosmtpd offers AUTH over implicit TLS only with auth_require_tls=False (it counts STARTTLS alone as TLS)
    inbox, port = smtp_server(ssl_context=server_tls, auth_require_tls=False)
    mail.send("ada@example.com", "implicit TLS", "body", sender="Ops <ops@example.com>", smtp_url=url(port, "smtps"))
    assert inbox.logins == [USER] and inbox.tls == [True]
    assert inbox.envelopes == [("ops@example.com", ["ada@example.com"])]


def test_an_untrusted_certificate_is_refused(smtp_server, server_tls: ssl.SSLContext, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    monkeypatch.setenv("SSL_CERT_FILE", str(other))
    inbox, port = smtp_server(ssl_context=server_tls)
    with pytest.raises(ConnectionFailed, match="TLS failed \\(CERTIFICATE_VERIFY_FAILED") as caught:
        mail.send("ada@example.com", "hi", "body", smtp_url=url(port, "smtps"))
    assert PASSWORD not in str(caught.value) and inbox.messages == []


def test_the_server_comes_from_the_smtp_url_secret_and_unreachable_servers_are_clear(
        smtp_server, monkeypatch: pytest.MonkeyPatch, declare) -> None:
    inbox, port = smtp_server()
    declare("SMTP_URL")
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{port}?from=alerts%40example.com")
    mail.send("ada@example.com", "no login", "body")
    assert inbox.envelopes == [("alerts@example.com", ["ada@example.com"])]
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{free_port()}?from=alerts%40example.com")
    with pytest.raises(ConnectionFailed, match="SMTP 127.0.0.1:.*: cannot connect \\(ConnectionRefusedError"):
        mail.send("ada@example.com", "hi", "body", timeout=5)
    monkeypatch.delenv("SMTP_URL")
    with pytest.raises(ValueError, match="smtp_url: not given, and secret 'SMTP_URL' has no value: set the "
                                         "environment variable SMTP_URL"):
        mail.send("ada@example.com", "hi", "body")


@pytest.mark.parametrize("kwargs, error, message", [
    ({"to": "ada"}, ValueError, "to: not an email address: 'ada'"),
    ({"to": []}, TypeError, "to: expected an address"),
    ({"subject": "two\nlines"}, ValueError, "subject: must be one line"),
    ({"attachments": ["missing.pdf"]}, FileNotFoundError, "attachments\\[0\\]: no file 'missing.pdf'"),
    ({"attachments": "report.pdf"}, TypeError, "attachments: expected a list of paths"),
    ({"attachments": ("a.txt", b"x", "text/plain")}, TypeError, "attachments: expected a list"),
    ({"attachments": [("a.bin", "text", "application/octet-stream")]}, TypeError, "attachments\\[0\\]: expected"),
    ({"attachments": [("a.bin", b"x", "binary")]}, ValueError, "attachments\\[0\\]: the type must be like"),
    ({"smtp_url": "http://mail.example.com"}, ValueError, "smtp_url: expected smtp://"),
    ({"smtp_url": "smtp://mail.example.com?tls=yes"}, ValueError, "smtp_url: unknown option tls"),
    ({"smtp_url": "smtps://mail.example.com?starttls=never"}, ValueError, "only with smtp://"),
    ({"smtp_url": "smtp://user:pw-S3CRET@mail.example.com"}, ValueError, "sender: not given"),
    ({"timeout": -1}, ValueError, "timeout: expected a number of seconds > 0"),
])
def test_bad_arguments_name_the_argument(kwargs: dict[str, Any], error: type[Exception], message: str,
                                         project: Path) -> None:
    call = {"to": "ada@example.com", "subject": "s", "body": "b", "smtp_url": "smtp://a%40b.c@127.0.0.1:9", **kwargs}
    with pytest.raises(error, match=message) as caught:
        mail.send(**call)
    assert "pw-S3CRET" not in str(caught.value)
