"""The store: the one source of truth for runs (and later approvals and trigger state), in SQLite."""

from .approvals import ApprovalError, decision_of
from .db import default_store_path
from .runs import FINAL_STATUSES, RUN_STATUSES, RunNotFound, Store, new_run_id, public_run

__all__ = ["ApprovalError", "decision_of", "Store", "RunNotFound", "RUN_STATUSES", "FINAL_STATUSES", "default_store_path", "new_run_id",
           "public_run"]
