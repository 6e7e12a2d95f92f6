"""How bad a log line looks: error / warning / info, by its words (for highlighting and jumps).

Engine-neutral on purpose: SGLang's format has no level field, and neither do the Python
tracebacks, CUDA errors and kernel messages any engine prints. Applied only to visible lines,
error jumps and filtered views, never to every line of a flood.
"""

from __future__ import annotations

import enum
import re


class Severity(enum.IntEnum):
    INFO = 0
    WARNING = 1
    ERROR = 2


_HARMLESS = "Can not initialize OpenAIServingResponses"
# Literal alternatives only: a regex engine rejects each position after one character,
# so this stays ~1 µs for a typical line (it runs for visible lines and error jumps).
_ERROR = re.compile(
    r"Error|ERROR|Exception|Traceback|ailed|failure|CRITICAL|FATAL|error:|out of memory"
    r"|Not enough memory|already in use|already allocated|Killed|Segmentation fault|core dumped"
    r"|Repository Not Found|attention backend|Errno"
)
_WARNING = re.compile(r"WARN|Warning|warning:|eprecat|retract")


def may_contain(text: str, at_least: Severity) -> bool:
    """Cheap pre-check over many joined lines: False means no line reaches ``at_least``."""
    if at_least <= Severity.INFO:
        return True
    if _ERROR.search(text):
        return True
    return at_least <= Severity.WARNING and _WARNING.search(text) is not None


def severity(line: str) -> Severity:
    """Error / warning / info for one line, by content."""
    if len(line) > 4096:
        line = line[:4096]
    if _ERROR.search(line):
        return Severity.INFO if _HARMLESS in line else Severity.ERROR
    if _WARNING.search(line):
        return Severity.WARNING
    return Severity.INFO
