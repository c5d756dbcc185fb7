"""What starts runs automatically: trigger kinds (one module each, registered by entry points), tick arithmetic,
catch-up plans and change detection. Nothing here executes a run; ``jetnb.control`` does."""
