"""Profiles: XDG TOML files, 0600/0700, secrets only on request, nothing lost on bad TOML."""

from __future__ import annotations

import stat
import tomllib

import pytest

from console.runtime import profiles
from console.runtime.profiles import Profile, ProfileError, ProfileNotFound


@pytest.fixture(autouse=True)
def xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    return tmp_path / "cfg"


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_save_load_roundtrip_with_private_permissions(xdg):
    path = profiles.save(Profile("h100", {"model": "openai/gpt-oss-120b", "mem_fraction_static": 0.95,
                                          "extra_args": ["--decode-log-interval", "10"], "served_model_name": None}))
    assert path == xdg / "gpt-oss-console" / "profiles" / "h100.toml"
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    loaded = profiles.load("h100")
    assert loaded.values == {"model": "openai/gpt-oss-120b", "mem_fraction_static": 0.95,
                             "extra_args": ["--decode-log-interval", "10"]}
    assert profiles.list_profiles() == ["h100"]


def test_secrets_are_left_out_unless_asked():
    secret = "sk-live-0123456789abcdef"
    profiles.save(Profile("a", {"model": "openai/gpt-oss-20b", "api_key": secret, "hf_token": "hf_x" * 5}))
    text = profiles.path_for("a").read_text()
    assert secret not in text and "hf_x" not in text
    profiles.save(Profile("b", {"api_key": secret}, keep_secrets=True))
    assert profiles.load("b").values["api_key"] == secret
    assert mode(profiles.path_for("b")) == 0o600


def test_duplicate_and_delete():
    profiles.save(Profile("one", {"port": 8001}))
    copy = profiles.duplicate("one", "two")
    assert copy.values == {"port": 8001} and profiles.load("two").values == {"port": 8001}
    with pytest.raises(ProfileError):
        profiles.duplicate("one", "two")
    profiles.delete("one")
    assert profiles.list_profiles() == ["two"]
    with pytest.raises(ProfileNotFound):
        profiles.load("one")
    with pytest.raises(ProfileNotFound):
        profiles.delete("one")


def test_invalid_toml_is_a_clear_error_and_nothing_is_lost():
    path = profiles.save(Profile("broken", {"port": 8001}))
    path.write_text('[settings]\nport = "unterminated\n')
    with pytest.raises(ProfileError) as err:
        profiles.load("broken")
    assert "not valid TOML" in err.value.message and str(path) in err.value.message
    assert "nothing was changed" in err.value.hint
    assert path.read_text() == '[settings]\nport = "unterminated\n'
    # Saving over it keeps the broken file aside instead of destroying the operator's edits.
    profiles.save(Profile("broken", {"port": 8002}))
    aside = [p for p in path.parent.iterdir() if p.name.startswith("broken.toml.invalid-")]
    assert len(aside) == 1 and "unterminated" in aside[0].read_text()
    assert profiles.load("broken").values == {"port": 8002}


def test_bad_names_and_bad_shapes_are_refused():
    for name in ("", "../etc", "a/b", "-x", "x" * 65):
        with pytest.raises(ProfileError):
            profiles.path_for(name)
    path = profiles.save(Profile("shape", {}))
    path.write_text('settings = "not a table"\n')
    with pytest.raises(ProfileError):
        profiles.load("shape")


def test_written_file_is_plain_toml_with_metadata():
    path = profiles.save(Profile("meta", {"enable_metrics": True}))
    doc = tomllib.loads(path.read_text())
    assert doc["profile"]["name"] == "meta" and doc["profile"]["keep_secrets"] is False
    assert doc["settings"] == {"enable_metrics": True}
