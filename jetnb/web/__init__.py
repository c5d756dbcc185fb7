"""Server-rendered web pages of ``jetnb serve``: workflows, runs, a run, approvals."""
