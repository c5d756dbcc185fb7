"""The store: the one source of truth for runs, approvals, served workflows, trigger state and the audit log, in
SQLite. Nothing outside this package writes SQL."""

from .approvals import ApprovalError, decision_of, may_decide, public_approval
from .database import Database
from .db import StoreError, default_store_path
from .deliveries import AlreadyDelivered
from .fires import AlreadyFired
from .intake import WorkflowPaused
from .runs import RunIdTaken, RunNotFound, RunStateError, new_run_id, public_run
from .store import Store
from .workflows import WorkflowNotFound, WorkflowRecord

__all__ = ["ApprovalError", "decision_of", "may_decide", "public_approval", "Database", "Store", "RunNotFound",
           "RunStateError", "RunIdTaken", "StoreError", "WorkflowNotFound", "WorkflowRecord", "AlreadyFired", "AlreadyDelivered", "WorkflowPaused", "default_store_path", "new_run_id", "public_run"]
