"""The READMEs' generated sections, one generator for all: the corrected compatibility table,
the CLI list, the fleet settings and the bake-off table (``compare`` against the test peers, from
its recording: tests/compare_readme.py) in README.md; the settings table, the RunPod template and
compose file in docker/README.md.

    python -m tests.readme_sections --write     # refresh every generated section in place
    python -m tests.readme_sections --check     # exit 1 (naming the files) when one is stale

A section sits between ``<!-- generated:NAME (…) -->`` and ``<!-- /generated:NAME -->``;
``tests/test_readme.py`` fails when a README differs from what this renders.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCKER_README = ROOT / "docker" / "README.md"
COMMAND = "python -m tests.readme_sections --write"


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


def fleet_settings() -> str:
    from console.fleet.settings import docs

    return docs()


def compare_table() -> str:
    from tests.compare_readme import section

    return section()


def settings_table() -> str:
    from console.settings.docs import markdown_table

    return markdown_table().strip()


def runpod_section() -> str:
    from console.connect.pod import readme_section

    return readme_section()


Sections = dict[str, Callable[[], str]]
SECTIONS: Sections = {"compat-table": compat_table, "cli-table": cli_table, "fleet-settings": fleet_settings,
                      "compare-table": compare_table}
DOCKER_SECTIONS: Sections = {"settings-table": settings_table, "runpod-template": runpod_section}
# file → its sections, each rendered by a function of the code it describes
FILES: dict[Path, Sections] = {README: SECTIONS, DOCKER_README: DOCKER_SECTIONS}


def block(name: str, body: str) -> str:
    return f"<!-- generated:{name} ({COMMAND}) -->\n{body}\n<!-- /generated:{name} -->"


def _pattern(name: str) -> re.Pattern:
    return re.compile(rf"<!-- generated:{name} .*?-->\n.*?<!-- /generated:{name} -->", re.S)


def render(text: str, sections: Sections = SECTIONS) -> str:
    for name, make in sections.items():
        text = _pattern(name).sub(lambda _m, n=name, f=make: block(n, f()), text)
    return text


def missing(text: str, sections: Sections = SECTIONS) -> list[str]:
    return [name for name in sections if not _pattern(name).search(text)]


def stale() -> list[Path]:
    out = []
    for path, sections in FILES.items():
        text = path.read_text(encoding="utf-8")
        if render(text, sections) != text or missing(text, sections):
            out.append(path)
    return out


def main(argv: list[str]) -> int:
    if "--write" in argv:
        for path, sections in FILES.items():
            current = path.read_text(encoding="utf-8")
            fresh = render(current, sections)
            if fresh != current:
                path.write_text(fresh, encoding="utf-8")
            print(f"{path.relative_to(ROOT)} {'updated' if fresh != current else 'already current'}")
        return 0
    if "--check" in argv:
        bad = stale()
        for path in bad:
            print(f"{path.relative_to(ROOT)} is stale: run {COMMAND}", file=sys.stderr)
        return 1 if bad else 0
    for path, sections in FILES.items():
        print(render(path.read_text(encoding="utf-8"), sections))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
