"""The store: the one source of truth for runs, served workflows and trigger state (later approvals), in SQLite."""

from .approvals import ApprovalError, decision_of, public_approval
from .db import default_store_path
from .fires import AlreadyFired
from .runs import CLI_TRIGGERS, FINAL_STATUSES, RUN_STATUSES, RunNotFound, Store, new_run_id, public_run
from .workflows import WorkflowNotFound

__all__ = ["ApprovalError", "decision_of", "public_approval", "Store", "RunNotFound", "WorkflowNotFound", "AlreadyFired",
           "RUN_STATUSES", "FINAL_STATUSES", "CLI_TRIGGERS", "default_store_path", "new_run_id", "public_run"]
