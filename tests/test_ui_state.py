"""Remembered UI state: one 0600 file in the config dir, sections merged, never a secret."""

from __future__ import annotations

import os
import stat

import pytest

from console.secret import Secret
from console.ui import state


def test_sections_are_merged_and_kept_private():
    assert state.remembered("launch") == {}
    state.remember("launch", profile="big")
    state.remember("chat", model="openai/gpt-oss-20b")
    state.remember("launch", engine="vllm")
    assert state.remembered("launch") == {"profile": "big", "engine": "vllm"}
    assert state.remembered("chat") == {"model": "openai/gpt-oss-20b"}
    path = state.state_path()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    state.remember("launch", profile=None)
    assert state.remembered("launch") == {"engine": "vllm"}


def test_a_damaged_file_reads_as_empty_and_is_rewritten():
    path = state.state_path()
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert state.remembered("launch") == {}
    assert "could not be read" in state.problem() and str(path) in state.problem()
    state.remember("launch", profile="p1")
    assert state.remembered("launch") == {"profile": "p1"} and state.problem() is None
    assert path.with_name("ui-state.json.damaged").read_text() == "{not json"


def test_a_secret_is_refused():
    with pytest.raises(TypeError, match="never remembered"):
        state.remember("chat", api_key=Secret("sk-remember-me-not"))
    assert not state.state_path().exists()
