"""The SMTP side of ``email.send``: a server described by one URL, a session on it, and errors without secrets.

``smtp://user:pass@host:587`` upgrades to TLS with STARTTLS when the server
offers it (``?starttls=require`` insists, ``?starttls=never`` stays plain);
``smtps://user:pass@host:465`` is TLS from the first byte. Certificates are
verified against the system's trust store. A password is never sent over a
connection that is not encrypted unless the URL says ``starttls=never``.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import parse_qsl, unquote, urlsplit

from .errors import ActionError, ActionTimeout, ConnectionFailed
from .redact import credentials, scrub
from .settings import url_text

PORTS = {"smtp": 587, "smtps": 465}
STARTTLS = ("auto", "require", "never")
OPTIONS = ("starttls", "from")


@dataclass(frozen=True)
class Server:
    """A parsed SMTP URL; ``secrets`` are what its errors must never show."""

    scheme: str
    host: str
    port: int
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: str = "auto"
    sender: str | None = None  # ?from=
    secrets: list[str] = field(default_factory=list, repr=False)

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"


def parse(url: str) -> Server:
    """Read ``smtp[s]://[user[:password]@]host[:port][?starttls=auto|require|never&from=addr]``."""
    parts = urlsplit(url_text("smtp_url", url))
    if parts.scheme not in PORTS or not parts.hostname:
        raise ValueError("smtp_url: expected smtp://[user:password@]host[:port] or smtps://..., "
                         f"got a {parts.scheme or 'scheme-less'} URL")
    options = dict(parse_qsl(parts.query))
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ValueError(f"smtp_url: unknown option {', '.join(unknown)} (known: {', '.join(OPTIONS)})")
    starttls = options.get("starttls", "auto")
    if starttls not in STARTTLS or (parts.scheme == "smtps" and "starttls" in options):
        raise ValueError(f"smtp_url: starttls must be one of {', '.join(STARTTLS)}, and only with smtp://")
    port = parts.port or PORTS[parts.scheme]
    user, password = (unquote(v) if v else None for v in (parts.username, parts.password))
    return Server(parts.scheme, parts.hostname, port, user, password, starttls, options.get("from"),
                  credentials(url))


def deliver(server: Server, message: EmailMessage, timeout: float) -> None:
    """Send ``message`` to its To/Cc/Bcc; every failure becomes an ``ActionError`` naming the server, not its login."""
    try:
        with _session(server, timeout) as smtp:
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:  # OSError: refused, timed out, TLS
        raise _describe(exc, server, timeout) from None


@contextmanager
def _session(server: Server, timeout: float) -> Iterator[smtplib.SMTP]:
    context = ssl.create_default_context()
    if server.scheme == "smtps":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(server.host, server.port, timeout=timeout)
    try:
        if server.scheme == "smtp":
            _secure(smtp, server, context)
        if server.user:
            smtp.login(server.user, server.password or "")
        yield smtp
    finally:
        _close(smtp)


def _secure(smtp: smtplib.SMTP, server: Server, context: ssl.SSLContext) -> None:
    """STARTTLS when offered and allowed; refuse to go on in plain text when that would expose the password."""
    smtp.ehlo()
    if server.starttls != "never" and smtp.has_extn("starttls"):
        smtp.starttls(context=context)
        smtp.ehlo()
    elif server.starttls == "require":
        raise ActionError(f"SMTP {server.target} does not offer STARTTLS, and the URL says starttls=require")
    elif server.user and server.starttls == "auto":
        raise ActionError(f"SMTP {server.target} does not offer STARTTLS; refusing to send the password "
                          "unencrypted (add ?starttls=never to the URL to allow it)")


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):  # the server is gone already; nothing left to tell it
        smtp.close()


def _describe(exc: smtplib.SMTPException | OSError, server: Server, timeout: float) -> ActionError:
    """The error to raise for a failure of the SMTP exchange (the server's reply is kept, scrubbed)."""
    where = f"SMTP {server.target}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return ActionError(f"{where} refused the login: {_reply(exc.smtp_code, exc.smtp_error, server)}")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = "; ".join(f"{to} ({_reply(code, text, server)})" for to, (code, text) in exc.recipients.items())
        return ActionError(f"{where} refused every recipient: {refused}")
    if isinstance(exc, smtplib.SMTPResponseException):
        return ActionError(f"{where} refused the message: {_reply(exc.smtp_code, exc.smtp_error, server)}")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return ConnectionFailed(f"{where}: connection failed ({exc})")
    if isinstance(exc, smtplib.SMTPException):  # e.g. no AUTH offered (SMTPException is an OSError: test it first)
        return ActionError(f"{where}: {type(exc).__name__}: {scrub(str(exc), server.secrets)}")
    if isinstance(exc, TimeoutError):
        return ActionTimeout(f"{where}: no answer within {timeout:g}s")
    if isinstance(exc, ssl.SSLError):  # e.g. CERTIFICATE_VERIFY_FAILED: self-signed certificate
        why = ": ".join(filter(None, (exc.reason, getattr(exc, "verify_message", None)))) or str(exc)
        return ConnectionFailed(f"{where}: TLS failed ({scrub(why, server.secrets)})")
    return ConnectionFailed(f"{where}: cannot connect ({type(exc).__name__}: {exc.strerror or exc})")


def _reply(code: int, text: bytes | str, server: Server) -> str:
    said = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    return scrub(f"{code} {' '.join(said.split())}", server.secrets)
