"""Docker Engine answers turned into plain words with the fix.

The SDK wraps most failures in ``DockerException``/``APIError`` whose text is
the daemon's (or urllib3's) own; operators should not have to read those. Each
rule matches on the exception chain and its text, because the same failure
surfaces differently at connect time, at create time and mid-stream.
"""

from __future__ import annotations

import errno

from console.errors import ConsoleError

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_NOT_FOUND = 4


class DockerUnavailable(ConsoleError):
    """The engine cannot be reached at all (not installed, down, no permission)."""

    exit_code = EXIT_UNAVAILABLE


class LaunchRefused(ConsoleError):
    """The console refuses a launch before talking to Docker (unsafe or invalid)."""

    exit_code = EXIT_USAGE


def build_command(image: str) -> str:
    """The command that builds the project's image as ``image``, runnable from any folder.

    The Dockerfile copies from the repository root, so the context is the root, not docker/.
    """
    import shlex
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    if (root / "docker" / "Dockerfile").is_file():
        return (f"docker build -f {shlex.quote(str(root / 'docker' / 'Dockerfile'))} -t {shlex.quote(image)} "
                f"{shlex.quote(str(root))}")
    # An installed wheel carries no Dockerfile: the command for a clone of the repository.
    return f"from a clone of the repository: docker build -f docker/Dockerfile -t {shlex.quote(image)} ."


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        for arg in getattr(exc, "args", ()):  # urllib3 tucks the socket error into args
            if isinstance(arg, BaseException):
                yield from _chain(arg)
        exc = exc.__cause__ or exc.__context__


def _text(exc: BaseException) -> str:
    parts = [str(exc)]
    explanation = getattr(exc, "explanation", None)
    if explanation:
        parts.append(str(explanation))
    return " ".join(parts)


def explain(exc: BaseException, *, image: str | None = None, port: int | None = None,
            port_holder: str | None = None) -> ConsoleError:
    """Return the people-facing error for a Docker failure (never raises).

    ``port_holder``: the console container already publishing ``port``, when the caller knows it.
    """
    if isinstance(exc, ConsoleError):
        return exc
    chain = list(_chain(exc))
    text = " ".join(_text(e) for e in chain)
    low = text.lower()
    # An HTTP answer means the daemon is up: socket-level words in it are about a registry or a port.
    answered = any(getattr(e, "status_code", None) or type(e).__name__ in _API_ERRORS for e in chain)
    if not answered:
        down = _daemon_down(chain, low)
        if down is not None:
            return down
    return _answered(exc, low, image, port, port_holder)


_API_ERRORS = ("APIError", "NotFound", "ImageNotFound")


def _daemon_down(chain: list[BaseException], low: str) -> ConsoleError | None:
    if any(isinstance(e, FileNotFoundError) for e in chain) or "no such file or directory" in low and "sock" in low:
        return DockerUnavailable(
            "Docker is not running here (no Docker socket found)",
            "install Docker Engine and start it: sudo systemctl start docker "
            "(or set DOCKER_HOST if the daemon listens elsewhere)",
        )
    if any(isinstance(e, PermissionError) for e in chain) or "permission denied" in low and "sock" in low:
        return DockerUnavailable(
            "permission denied on the Docker socket",
            "add yourself to the docker group: sudo usermod -aG docker $USER, then log in again "
            "(or run newgrp docker)",
        )
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "connection refused" in low or any(
        isinstance(e, OSError) and e.errno in (errno.ECONNREFUSED, errno.ECONNRESET) for e in chain
    ):
        return DockerUnavailable(
            "the Docker daemon is not answering (connection refused: it stopped or died)",
            "start it again: sudo systemctl start docker; the console reconnects when it is back",
        )
    if any(type(e).__name__ in ("ReadTimeout", "ReadTimeoutError", "Timeout") for e in chain):
        return DockerUnavailable(
            "the Docker daemon did not answer in time",
            "check it with docker info; it may be overloaded or hung",
        )
    if any(type(e).__name__ in ("ConnectionError", "ProtocolError", "RemoteDisconnected") for e in chain):
        return DockerUnavailable(
            "lost the connection to the Docker daemon",
            "check that Docker is running (docker info); the console reconnects when it is back",
        )
    return None


def _answered(exc: BaseException, low: str, image: str | None, port: int | None,
              port_holder: str | None = None) -> ConsoleError:
    if "could not select device driver" in low:
        return ConsoleError(
            "no NVIDIA container runtime: Docker cannot give GPUs to containers",
            "install the NVIDIA Container Toolkit (nvidia-container-toolkit), run "
            "sudo nvidia-ctk runtime configure --runtime=docker and restart Docker; "
            "or launch without GPUs",
            exit_code=EXIT_UNAVAILABLE,
        )
    if "port is already allocated" in low or "address already in use" in low:
        where = f" {port}" if port else ""
        if port_holder:
            hint = (f"the console's container {port_holder} holds it: stop it (gpt-oss-console stop "
                    f"{port_holder}) or choose another port")
        elif port:
            hint = f"stop what holds it (ss -ltnp 'sport = :{port}' shows it) or choose another port"
        else:
            hint = "stop what holds it (ss -ltnp shows listening ports) or choose another port"
        return ConsoleError(f"port{where} is already in use on the host", hint, exit_code=EXIT_UNAVAILABLE)
    if _is_image_missing(exc, low):
        return image_missing(image)
    if "conflict" in low and "already in use by container" in low:
        return ConsoleError(
            "a container with that name already exists",
            "stop and remove it (gpt-oss-console stop --remove) or pick another profile name",
            exit_code=EXIT_USAGE,
        )
    status = getattr(exc, "status_code", None)
    first = str(getattr(exc, "explanation", None) or exc).strip() or type(exc).__name__
    return ConsoleError(f"Docker refused: {first}", f"HTTP {status}" if status else None)


def image_missing(image: str | None) -> ConsoleError:
    """The image is not on this Docker host and no pull brought it: what to do. An engine's stock
    image with a local name (llama.cpp's) says how that engine's image is built or tagged; another
    stock image is pulled elsewhere and loaded; any other image is built (the project's) or loaded."""
    from console import engines

    local = engines.local_image(image)
    if local is not None:
        return ConsoleError(f"image {image} is not on this Docker host (a local name: the console does not "
                            "pull it)", local.obtain, exit_code=EXIT_NOT_FOUND)
    try:
        stock = engines.stock_image_named(image) if image else None
    except ConsoleError:  # an engine that does not load: the general answer
        stock = None
    if stock is not None:  # upstream's image: the project's Dockerfile builds on SGLang's, never this
        return ConsoleError(
            f"image not found and no registry reachable: pull it where one is ({image})",
            stock.obtain or f"pull it on a machine that reaches a registry and save it there (docker pull {image} "
            f"&& docker save -o FILE {image}), load it here (docker load -i FILE), or pass another image with --image",
            exit_code=EXIT_NOT_FOUND,
        )
    name = f" ({image})" if image else ""
    return ConsoleError(
        f"image not found and no registry reachable: build or load it{name}",
        f"build it ({build_command(image or 'IMAGE')}) or load a saved copy (docker load -i FILE)",
        exit_code=EXIT_NOT_FOUND,
    )


def _is_image_missing(exc: BaseException, low: str) -> bool:
    name = type(exc).__name__
    if name == "ImageNotFound":
        return True
    markers = (
        "no such host",
        "dial tcp",
        "pull access denied",
        "manifest unknown",
        "repository does not exist",
        "server misbehaving",
        "temporary failure in name resolution",
        "no such image",
    )
    return any(m in low for m in markers) and ("registry" in low or "pull" in low or "image" in low or "lookup" in low)


def is_connection_loss(exc: BaseException) -> bool:
    """True when ``exc`` means the daemon went away (the console should wait and reconnect)."""
    return isinstance(explain(exc), DockerUnavailable)
