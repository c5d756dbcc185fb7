"""``email.send``: a plain-text (and optionally HTML) email with attachments, over SMTP.

The server is one URL (see ``smtp.py``): ``smtp_url=`` or, left out, the
secret ``SMTP_URL``, so a workflow never holds the password. The message is
an ``email.message.EmailMessage``: text body, an HTML alternative when
given, attachments from paths or ``(filename, bytes, mime)``. There is no
retry loop here (SMTP servers queue and retry on their side); a connection
that fails raises ``ConnectionFailed``, which ``--retry-on ConnectionError``
retries at the step.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid
from pathlib import Path
from typing import Any

from . import smtp
from .record import recorded
from .settings import from_secret, seconds
from .settings import text as check_text

Attachment = str | Path | tuple[str, bytes, str]


def send(to: str | Sequence[str], subject: str, body: str, *, html: str | None = None,
         attachments: Sequence[Attachment] | None = None, sender: str | None = None, smtp_url: str | None = None,
         timeout: float = 30) -> str:
    """Send one email to ``to`` (an address, ``"a@x, b@y"`` or a list) and return its Message-ID.

    ``sender`` defaults to the URL's ``?from=``, then to its user when that
    is an address. Recorded as ``email.send`` with the server's host:port
    and the counts of recipients and attachments (never the addresses).
    """
    __tracebackhide__ = True
    with recorded("email.send") as call:
        server = smtp.parse(smtp_url if smtp_url is not None else from_secret("SMTP_URL", "smtp_url"))
        call.target, call.secrets = server.target, server.secrets
        recipients = _addresses(to)
        message = _message(recipients, subject, body, html, _sender(sender, server))
        files = _listed(attachments)
        for index, attachment in enumerate(files):
            _attach(message, index, attachment)
        call.detail.update(recipients=len(recipients), attachments=len(files))
        smtp.deliver(server, message, seconds("timeout", timeout))
        return str(message["Message-ID"])


def _message(recipients: list[str], subject: str, body: str, html: str | None, sender: str) -> EmailMessage:
    if "\n" in check_text("subject", subject, empty=True) or "\r" in subject:
        raise ValueError("subject: must be one line")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, ", ".join(recipients), subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip(">") or None)
    message.set_content(check_text("body", body, empty=True))
    if html is not None:
        message.add_alternative(check_text("html", html), subtype="html")
    return message


def _addresses(to: Any) -> list[str]:
    """Each recipient as written (``Ada <ada@example.com>`` or ``ada@example.com``), checked to hold an address."""
    if isinstance(to, str):
        to = [to]
    if not isinstance(to, (list, tuple)) or not to or not all(isinstance(item, str) for item in to):
        raise TypeError("to: expected an address, a comma-separated string of them, or a list of them")
    found = getaddresses(list(to))
    bad = [name or addr for name, addr in found if "@" not in addr]
    if bad or not found:
        raise ValueError(f"to: not an email address: {bad[0] if bad else to!r}")
    return [f"{name} <{addr}>" if name else addr for name, addr in found]


def _sender(sender: str | None, server: smtp.Server) -> str:
    chosen = sender or server.sender or (server.user if server.user and "@" in server.user else None)
    if not chosen:
        raise ValueError("sender: not given; pass sender= or add ?from=you@example.com to the SMTP URL")
    if "@" not in getaddresses([check_text("sender", chosen)])[0][1]:
        raise ValueError(f"sender: not an email address: {chosen!r}")
    return chosen


def _listed(attachments: Any) -> list[Any]:
    """A list of attachments; one path or one tuple given alone would otherwise be read item by item."""
    if attachments is None:
        return []
    if not isinstance(attachments, (list, tuple)) or _is_triple(attachments):
        raise TypeError("attachments: expected a list of paths or (filename, bytes, mime) tuples, got "
                        f"{type(attachments).__name__}")
    return list(attachments)


def _is_triple(value: Any) -> bool:
    return isinstance(value, tuple) and len(value) == 3 and isinstance(value[1], bytes)


def _attach(message: EmailMessage, index: int, attachment: Any) -> None:
    """A path (type guessed from its name) or ``(filename, bytes, "type/subtype")``."""
    where = f"attachments[{index}]"
    if isinstance(attachment, (str, Path)):
        path = Path(attachment)
        if not path.is_file():
            raise FileNotFoundError(f"{where}: no file {str(path)!r} (relative paths start in {Path.cwd()})")
        name, data = path.name, path.read_bytes()
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
    elif _is_triple(attachment):
        name, data, mime = attachment
    else:
        raise TypeError(f"{where}: expected a path or (filename, bytes, mime), got {type(attachment).__name__}")
    maintype, _, subtype = str(mime).partition("/")
    if not maintype or not subtype:
        raise ValueError(f"{where}: the type must be like 'application/pdf', got {mime!r}")
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=str(name))
