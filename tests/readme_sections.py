"""The README's generated sections: the corrected compatibility table and the CLI list.

    python -m tests.readme_sections --write     # refresh README.md in place

``tests/test_readme.py`` fails when README.md differs from what this renders.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def compat_table() -> str:
    from console.planner.seed import seed_table_markdown

    return seed_table_markdown().strip()


def cli_table() -> str:
    from console.cli import _command_modules

    rows = ["| command | what it does |", "|---|---|"]
    for mod in _command_modules():
        name = mod.__name__.rsplit(".", 1)[1]
        what = mod.HELP.replace("|", r"\|")
        rows.append(f"| `{name}` | {what} |")
    return "\n".join(rows)


SECTIONS = {"compat-table": compat_table, "cli-table": cli_table}


def block(name: str, body: str) -> str:
    return f"<!-- generated:{name} (python -m tests.readme_sections --write) -->\n{body}\n<!-- /generated:{name} -->"


def _pattern(name: str) -> re.Pattern:
    return re.compile(rf"<!-- generated:{name} .*?-->\n.*?<!-- /generated:{name} -->", re.S)


def render(text: str) -> str:
    for name, make in SECTIONS.items():
        text = _pattern(name).sub(lambda _m, n=name, f=make: block(n, f()), text)
    return text


def missing(text: str) -> list[str]:
    return [name for name in SECTIONS if not _pattern(name).search(text)]


if __name__ == "__main__":
    current = README.read_text(encoding="utf-8")
    fresh = render(current)
    if "--write" in sys.argv:
        README.write_text(fresh, encoding="utf-8")
        print("README.md updated" if fresh != current else "README.md already current")
    else:
        print(fresh)
