"""``profiles`` command: list/show (secrets masked)/duplicate/delete, errors with exit codes."""

from __future__ import annotations

import json

import pytest

from console.cli import main
from console.runtime import profiles


@pytest.fixture(autouse=True)
def xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))


def test_profiles_command(capsys):
    assert main(["profiles"]) == 0
    assert "no profiles in" in capsys.readouterr().out
    key = "sk-kept-on-request-000000"
    profiles.save(profiles.Profile("a", {"port": 8001, "api_key": key}, keep_secrets=True))
    assert main(["profiles", "show", "a", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["settings"]["port"] == 8001 and key not in json.dumps(shown)
    assert main(["profiles", "duplicate", "a", "b"]) == 0
    assert "copied to" in capsys.readouterr().out
    assert profiles.load("b").values["api_key"] == key  # the copy keeps what the source kept, 0600
    assert main(["profiles", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["profiles"] == ["a", "b"]
    assert main(["profiles", "delete", "a"]) == 0
    assert main(["profiles", "show", "a"]) == 4
    assert "no profile named 'a'" in capsys.readouterr().err
    assert main(["profiles", "duplicate", "b"]) == 2
