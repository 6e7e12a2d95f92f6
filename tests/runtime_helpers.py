"""Shared pieces of the Docker-backed launch/runtime tests."""

from __future__ import annotations

from tests.fixtures.docker_engine import test_name as unique_name


def clear_setting_env(monkeypatch) -> None:
    """The settings' env names are the seed's generic ones (HOST, PORT, MODEL…): the host's must not leak in."""
    from console.settings import SETTINGS

    for s in SETTINGS:
        for var in (s.env, *s.aliases, s.file_env):
            if var:
                monkeypatch.delenv(var, raising=False)


def isolate_state(tmp_path, monkeypatch) -> None:
    """Profiles, settings and crash bundles go under ``tmp_path``; no setting comes from the host's env."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    clear_setting_env(monkeypatch)


def container_name(docker_client, prefix: str):
    """Generator for a fixture: a fresh test container name, and that container force-removed afterwards."""
    made = unique_name(prefix)
    yield made
    try:
        docker_client.containers.get(made).remove(force=True)
    except Exception:
        pass
