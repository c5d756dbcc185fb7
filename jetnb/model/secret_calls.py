"""``jetnb.secret("NAME")`` calls written in a notebook's cells, read without running anything, so ``jetnb check``
can name a secret that the ``%%workflow`` cell does not declare, at its cell.

Only calls with a literal name are seen (a name computed at run time is
checked when the call happens); the text is matched, not parsed, because
cell bodies may hold IPython syntax (``!cmd``, ``%magic``) that Python's
parser refuses.
"""

from __future__ import annotations

import re

_CALL = re.compile(r"""\bjetnb\s*\.\s*secret\(\s*(?P<quote>['"])(?P<name>[^'"\\\n]*)(?P=quote)\s*\)""")


def secret_calls(source: str) -> list[str]:
    """The names of the ``jetnb.secret("NAME")`` calls in ``source``, in order."""
    return [match.group("name") for match in _CALL.finditer(source)]
