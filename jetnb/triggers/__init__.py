"""What starts runs automatically: time-trigger arithmetic, catch-up plans, data-change sources, and the
registry of the notebooks a server serves. Nothing here executes a run; ``jetnb.control`` does."""

TIME_KINDS = ("schedule", "interval", "once")
AUTOMATIC_KINDS = (*TIME_KINDS, "data_change", "webhook")
