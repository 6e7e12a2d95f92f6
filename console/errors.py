"""Errors the console reports to people, not as tracebacks."""

from __future__ import annotations

from console.exit_codes import EXIT_FAILED


class ConsoleError(Exception):
    """A failure with a plain-words message and what to do about it.

    The CLI prints ``message`` (and ``hint``) and exits with ``exit_code``;
    the TUI shows them in a notification. Never put secrets in either.
    """

    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str | None = None, *, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  → {self.hint}"
