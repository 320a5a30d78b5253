"""Keeping secrets out of what aios writes: argv in reports, error texts in the audit log."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit, urlunsplit

REDACTED = "***"
#: Option names whose values are secrets (``--api-key``, ``--token``, ``--db-password``).
_SECRET_OPTION = re.compile(r"key|token|secret|passw(or)?d", re.IGNORECASE)
#: Environment variables whose values are secrets (also ``*_AUTH*``, ``*CREDENTIAL*``).
_SECRET_NAME = re.compile(r"key|token|secret|passw(or)?d|auth|credential", re.IGNORECASE)
# Shapes of provider keys and auth headers that may show up inside error messages.
_SECRET_SHAPES = re.compile(
    r"(sk-[A-Za-z0-9_\-]{6,}|(?i:bearer)\s+[A-Za-z0-9._\-]{8,}|(?i:x-api-key)[\"':\s=]+[A-Za-z0-9._\-]{8,})"
)


def secret_option(arg: str) -> bool:
    """Whether ``arg`` is an option whose name says its value is a secret (``--api-key``)."""
    if not arg.startswith("-") or arg in ("-", "--"):
        return False
    name = arg.lstrip("-").split("=", 1)[0]
    return bool(_SECRET_OPTION.search(name))


def redact_argv(argv: Sequence[str]) -> list[str]:
    """``argv`` with the values of secret-named options replaced: ``--token X``, ``--token=X``."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(REDACTED)
            hide_next = False
            continue
        if secret_option(arg):
            if "=" in arg:
                out.append(arg.split("=", 1)[0] + "=" + REDACTED)
            else:
                out.append(arg)
                hide_next = True
            continue
        out.append(arg)
    return out


class Scrubber:
    """Removes the values of secret-named environment variables and key-shaped strings."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        values = {v for k, v in env.items() if _SECRET_NAME.search(k) and len(v) >= 8}
        # Longest first, so a secret that contains another is removed whole.
        self._values = sorted(values, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, REDACTED)
        return _SECRET_SHAPES.sub(REDACTED, text)


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (reports, logs and errors show no secret)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
