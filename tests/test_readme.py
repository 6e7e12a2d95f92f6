"""README.md states what exists: its generated sections match the code that renders them."""

from __future__ import annotations

from tests.readme_sections import README, missing, render


def test_readme_generated_sections_are_current() -> None:
    text = README.read_text(encoding="utf-8")
    assert missing(text) == [], f"README.md lacks generated sections: {missing(text)}"
    assert render(text) == text, "README.md is stale: run  python -m tests.readme_sections --write"


def test_readme_gives_exactly_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert "bash tests/run-all.sh" in text
    assert ".venv/bin/gpt-oss-console" in text
    assert (README.parent / ".ci" / "run").read_text().strip().endswith('tests/run-all.sh" "$@"')
