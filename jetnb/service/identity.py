"""Who is acting outside the server: the user of a personal token (``$JETNB_USER_TOKEN``), else the OS account.

The CLI and ``LocalClient`` work on the local store with the rights of the
account running them; a personal token lets a person act as their jetnb
user there too (``jetnb users add``). A typed name never decides who
someone is: ``--as`` may only state it.
"""

from __future__ import annotations

import getpass
import os

from ..protocol import Principal
from ..store import Store

USER_TOKEN_ENV = "JETNB_USER_TOKEN"


class IdentityError(PermissionError):
    """A token that belongs to no user, or a claimed name that is not the caller's."""


def local_principal(store: Store, token: str | None = None) -> Principal:
    token = token or os.environ.get(USER_TOKEN_ENV) or None
    if token:
        principal = store.authenticate(token)
        if principal is None:
            raise IdentityError(f"the personal token (${USER_TOKEN_ENV} or token=) is not the token of any user of "
                                f"{store.path} (it may have been rotated: jetnb users list)")
        return principal
    name = getpass.getuser()
    return Principal(name, store.user_groups(name))


def check_claim(principal: Principal, claimed: str | None) -> None:
    """``--as NAME`` (or a body's ``as``) may only name the caller."""
    if claimed and claimed.strip() != principal.name:
        raise IdentityError(f"you are {principal.name}: a typed name cannot act for {claimed.strip()!r} "
                            f"(use their personal token, ${USER_TOKEN_ENV})")
