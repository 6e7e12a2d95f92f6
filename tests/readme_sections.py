"""The READMEs' generated sections: the corrected compatibility table, the CLI list and the
bake-off table (``compare`` against the test peers, from its recording: tests/compare_readme.py) in
README.md, the RunPod template and compose file in docker/README.md.

    python -m tests.readme_sections --write     # refresh both in place

``tests/test_readme.py`` fails when either differs from what this renders.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
DOCKER_README = README.parent / "docker" / "README.md"


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


def runpod_section() -> str:
    from console.connect.pod import readme_section

    return readme_section()


def fleet_settings() -> str:
    from console.fleet.settings import docs

    return docs()


def compare_table() -> str:
    from tests.compare_readme import section

    return section()


SECTIONS = {"compat-table": compat_table, "cli-table": cli_table, "fleet-settings": fleet_settings,
            "compare-table": compare_table}
DOCKER_SECTIONS = {"runpod-template": runpod_section}
FILES = {README: SECTIONS, DOCKER_README: DOCKER_SECTIONS}


def block(name: str, body: str) -> str:
    return f"<!-- generated:{name} (python -m tests.readme_sections --write) -->\n{body}\n<!-- /generated:{name} -->"


def _pattern(name: str) -> re.Pattern:
    return re.compile(rf"<!-- generated:{name} .*?-->\n.*?<!-- /generated:{name} -->", re.S)


def render(text: str, sections: dict = SECTIONS) -> str:
    for name, make in sections.items():
        text = _pattern(name).sub(lambda _m, n=name, f=make: block(n, f()), text)
    return text


def missing(text: str, sections: dict = SECTIONS) -> list[str]:
    return [name for name in sections if not _pattern(name).search(text)]


if __name__ == "__main__":
    for path, sections in FILES.items():
        current = path.read_text(encoding="utf-8")
        fresh = render(current, sections)
        if "--write" in sys.argv:
            path.write_text(fresh, encoding="utf-8")
            name = path.relative_to(README.parent)
            print(f"{name} updated" if fresh != current else f"{name} already current")
        else:
            print(fresh)
