"""Connecting to the Docker Engine (the SDK is imported here, lazily).

``DOCKER_HOST`` selects the daemon as it does for the docker CLI; tests point
it at a unix-socket proxy they can cut to simulate the daemon going away.
"""

from __future__ import annotations

import os

from console.runtime.errors import explain

# The engine this project targets is 20.10 (API 1.41); pinning avoids one
# version round-trip per connection and keeps behaviour the same on newer engines.
API_VERSION = os.environ.get("GPT_OSS_CONSOLE_DOCKER_API", "1.41")


def connect(timeout: float = 30.0):
    """Return a ``docker.DockerClient`` that has answered a ping, or raise a ConsoleError."""
    try:
        import docker

        client = docker.DockerClient(
            base_url=os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock",
            version=API_VERSION,
            timeout=timeout,
        )
        client.ping()
        return client
    except Exception as exc:  # every failure becomes plain words
        raise explain(exc) from exc


def docker_errors():
    import docker.errors

    return docker.errors
