"""Files the console writes for the operator alone: profiles, crash bundles, transcripts,
saved logs, bench results and compose files. They can hold secrets or name private servers,
so they are created 0600 (their folder 0700 when the console owns it).

Written through a temporary file in the same folder and renamed over the target: a file
that already existed with looser permissions is replaced rather than rewritten in place
(``O_CREAT``'s mode never applies to an existing file), and a crash never leaves half a file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def state_dir(*parts: str) -> Path:
    """``$XDG_STATE_HOME/gpt-oss-console/<parts>`` (default ``~/.local/state``): where the console
    keeps what it produces — crash bundles, saved logs. Not created here."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base, "gpt-oss-console", *parts)


def private_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` (and parents) and make it 0700: the console's own config/state folders."""
    p = Path(path)
    p.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(p, 0o700)  # mkdir's mode is masked by umask and ignored for an existing folder
    return p


def write_private(
    path: str | os.PathLike,
    data: str | bytes | Iterable[str],
    *,
    own_dir: bool = False,
    fsync: bool = False,
    mode: int = 0o600,
) -> Path:
    """Write ``data`` to ``path`` as a 0600 file (or ``mode``, e.g. 0400) and return the path.

    ``own_dir``: the folder is the console's own (created, made 0700); otherwise it is the
    operator's choice and must exist (a mistyped folder is an error, not a surprise tree). ``fsync`` for files whose loss would
    cost the operator work (profiles).
    """
    p = Path(path).expanduser()
    if own_dir:
        private_dir(p.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=p.parent)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(data, bytes):
                fh.write(data)
            elif isinstance(data, str):
                fh.write(data.encode("utf-8"))
            else:
                for chunk in data:
                    fh.write(chunk.encode("utf-8", "replace"))
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        if mode != 0o600:
            os.chmod(tmp, mode)
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return p
