"""The READMEs state what exists: their generated sections match the code that renders them."""

from __future__ import annotations

import pytest

from tests import readme_sections
from tests.readme_sections import DOCKER_README, FILES, README, missing, render


@pytest.mark.parametrize("path", list(FILES), ids=lambda p: p.parent.name + "/" + p.name)
def test_readme_generated_sections_are_current(path) -> None:
    text = path.read_text(encoding="utf-8")
    sections = FILES[path]
    assert missing(text, sections) == [], f"{path.name} lacks generated sections: {missing(text, sections)}"
    assert render(text, sections) == text, f"{path.name} is stale: run  python -m tests.readme_sections --write"


def test_write_and_check_refresh_every_readme(tmp_path, monkeypatch, capsys) -> None:
    """One generator for both READMEs: --check names a stale one, --write fixes it, the rest stays."""
    readme, docker_readme = tmp_path / "README.md", tmp_path / "docker" / "README.md"
    docker_readme.parent.mkdir()
    readme.write_text(README.read_text(encoding="utf-8"))
    docker_text = DOCKER_README.read_text(encoding="utf-8")
    pattern = readme_sections._pattern("settings-table")
    docker_readme.write_text(pattern.sub(readme_sections.block("settings-table", "old"), docker_text))
    monkeypatch.setattr(readme_sections, "ROOT", tmp_path)
    monkeypatch.setattr(readme_sections, "FILES", {readme: FILES[README], docker_readme: FILES[DOCKER_README]})
    assert readme_sections.main(["--check"]) == 1
    assert "docker/README.md is stale" in capsys.readouterr().err
    assert readme_sections.main(["--write"]) == 0
    assert readme_sections.main(["--check"]) == 0
    text = docker_readme.read_text()
    assert "`--context-length`" in text and pattern.search(text) and "\nold\n" not in text
    assert text == docker_text  # the rest of the file as it was


def test_readme_gives_exactly_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert "bash tests/run-all.sh" in text
    assert ".venv/bin/gpt-oss-console" in text
    assert (README.parent / ".ci" / "run").read_text().strip().endswith('tests/run-all.sh" "$@"')
