"""The control plane of ``jetnb serve``: the run queue, firing time triggers, polling data sources, pausing."""
