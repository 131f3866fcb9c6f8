"""Personal links and API tokens never reach the logs: `redact()` for text we log ourselves, and a
logging filter for records others write (uvicorn's access log)."""
from __future__ import annotations

import logging
import re

_PATTERNS = (
    # ?token=..., &invite=... in URLs (guest pages, QR codes, invites, feeds, invitations)
    (re.compile(r"([?&;](?:token|invite|code)=)[^&\s\"'<>#]+", re.IGNORECASE), r"\1[redacted]"),
    # API bearer tokens
    (re.compile(r"\bpl_[A-Za-z0-9_\-]{16,}"), "pl_[redacted]"),
)


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactTokens(logging.Filter):
    """Rewrites a record's message arguments (and message) with every token redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


def install(*logger_names: str) -> None:
    """Add the filter to these loggers once (create_app may run more than once in a process)."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
