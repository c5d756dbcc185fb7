"""ipywidgets that start and follow workflow runs from a notebook.

Every widget talks to a ``Client``; by default a ``LocalClient`` on the same
store as the CLI (``.jetnb/jetnb.db`` under the kernel's folder, or
``$JETNB_STORE``), overridable with ``store=`` and ``runs_dir=``, or a
``ServerClient`` for ``jetnb serve`` given as ``client=``.
"""

from .approval_feed import ApprovalFeed
from ..client import Client, LocalClient, ServerClient, ServerError
from .run_button import RunButton
from .run_form import RunForm
from .run_history import RunHistory
from .status import RunStatus
from .table_trigger import TableTrigger

__all__ = ["ApprovalFeed", "Client", "LocalClient", "RunButton", "RunForm", "RunHistory", "RunStatus", "ServerClient",
           "ServerError", "TableTrigger"]
