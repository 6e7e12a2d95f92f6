"""README.md states what exists: its generated sections match the code that renders them."""

from __future__ import annotations

import pytest

from tests.readme_sections import FILES, README, missing, render


@pytest.mark.parametrize("path", list(FILES), ids=lambda p: p.parent.name + "/" + p.name)
def test_readme_generated_sections_are_current(path) -> None:
    text = path.read_text(encoding="utf-8")
    sections = FILES[path]
    assert missing(text, sections) == [], f"{path.name} lacks generated sections: {missing(text, sections)}"
    assert render(text, sections) == text, f"{path.name} is stale: run  python -m tests.readme_sections --write"


def test_readme_gives_exactly_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert "bash tests/run-all.sh" in text
    assert ".venv/bin/gpt-oss-console" in text
    assert (README.parent / ".ci" / "run").read_text().strip().endswith('tests/run-all.sh" "$@"')
