"""Operator files are 0600 whatever was there before, and written whole or not at all."""

from __future__ import annotations

import os
import stat

import pytest

from console.private_file import write_private


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_an_existing_world_readable_file_ends_up_private(tmp_path):
    target = tmp_path / "transcript.jsonl"
    target.write_text("old")
    os.chmod(target, 0o644)
    write_private(target, "new secret-bearing text\n")
    assert target.read_text() == "new secret-bearing text\n" and mode(target) == 0o600


def test_own_folders_are_created_0700_and_chunks_are_joined(tmp_path):
    target = tmp_path / "state" / "bundles" / "b.json"
    write_private(target, (f"{i}\n" for i in range(3)), own_dir=True, fsync=True)
    assert target.read_text() == "0\n1\n2\n"
    assert mode(target.parent) == 0o700 and mode(target) == 0o600


def test_an_operator_path_in_a_missing_folder_fails_and_leaves_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_private(tmp_path / "nope" / "x.log", "x")
    assert not (tmp_path / "nope").exists()


def test_a_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "profile.toml"
    target.write_text("kept")

    def chunks():
        yield "half"
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_private(target, chunks())
    assert target.read_text() == "kept" and os.listdir(tmp_path) == ["profile.toml"]
