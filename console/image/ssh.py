"""sshd for cloud pods (RunPod and the like): key login by default, password only if asked.

Host keys are generated at start (never baked into the image); options go on
sshd's command line, which overrides whatever the base image's sshd_config says.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from console.secret import Secret, reveal

SSHD_PORT = 22


def sshd_options(password: bool) -> list[str]:
    opts = {
        "PubkeyAuthentication": "yes",
        "PasswordAuthentication": "yes" if password else "no",
        "KbdInteractiveAuthentication": "no",
        "PermitRootLogin": "yes" if password else "prohibit-password",
        "PermitEmptyPasswords": "no",
        "X11Forwarding": "no",
        "Port": str(SSHD_PORT),
    }
    out: list[str] = []
    for key, value in opts.items():
        out += ["-o", f"{key}={value}"]
    return out


def install_key(public_key: str, home: Path = Path("/root")) -> Path:
    """Add the key(s) to ~/.ssh/authorized_keys (0600, dir 0700), once."""
    ssh_dir = home / ".ssh"
    ssh_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(ssh_dir, 0o700)
    auth = ssh_dir / "authorized_keys"
    existing = auth.read_text().splitlines() if auth.exists() else []
    keys = [k.strip() for k in public_key.replace("\\n", "\n").splitlines() if k.strip()]
    new = existing + [k for k in keys if k not in existing]
    fd = os.open(auth, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(new) + "\n")
    os.chmod(auth, 0o600)
    return auth


def valid_public_key(key: str) -> bool:
    first = key.replace("\\n", "\n").strip().splitlines()[0] if key.strip() else ""
    return first.split(" ", 1)[0] in {
        "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
    }


def start_sshd(public_key: str | None, password: "Secret | str | None") -> list[str]:
    """Set up and start sshd; returns lines for the start-up summary. Raises RuntimeError."""
    sshd = shutil.which("sshd") or ("/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else None)
    if sshd is None:
        raise RuntimeError("SSH was asked for but this image has no sshd: rebuild it from docker/Dockerfile")
    lines: list[str] = []
    if public_key:
        auth = install_key(public_key)
        lines.append(f"ssh: key installed in {auth}")
    if password:  # on stdin, never argv; a Secret's str() is its mask, so reveal it here
        proc = subprocess.run(["chpasswd"], input=f"root:{reveal(password)}\n", text=True, capture_output=True)
        if proc.returncode != 0:
            raise RuntimeError(f"could not set the root password for SSH: {proc.stderr.strip()}")
    Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)
    keygen = subprocess.run(["ssh-keygen", "-A"], capture_output=True, text=True)
    if keygen.returncode != 0:
        raise RuntimeError(f"could not generate SSH host keys: {keygen.stderr.strip()}")
    proc = subprocess.run([sshd, *sshd_options(bool(password))], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"sshd did not start: {proc.stderr.strip()}")
    mode = "key and password" if password and public_key else ("password" if password else "key only")
    lines.append(f"ssh: sshd listening on port {SSHD_PORT} ({mode}); host keys generated at start")
    return lines
