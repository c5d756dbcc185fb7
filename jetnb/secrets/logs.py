"""Masking log records: a ``logging.Filter`` that replaces every known secret value in a record's message, its
traceback and its stack before any handler writes it."""

from __future__ import annotations

import logging

from .masking import masker


class MaskingFilter(logging.Filter):
    """Formats the message now (arguments included) and masks it; exceptions are formatted and masked too."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = masker.mask(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = masker.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = masker.mask(record.stack_info)
        return True


def mask_log_handlers() -> MaskingFilter:
    """Install the filter on every handler of the root logger.

    Handlers, not loggers: a filter on the ``tornado`` or ``jetnb`` logger
    is not consulted for records of their children (``tornado.access``,
    ``jetnb.serve``), while every record reaches the root's handlers.
    """
    found = MaskingFilter()
    for handler in logging.getLogger().handlers:
        handler.addFilter(found)
    return found
