"""Reading a console container's settings back from Docker's inspect (the Launch form's re-attach)."""

from __future__ import annotations

from console.runtime import spec as S
from console.runtime.build import build_spec
from console.runtime.readback import settings_of
from console.runtime.service import resolve_values


def attrs_of(spec) -> dict:
    """What Docker's inspect says of a container created from ``spec`` (the fields the readback reads)."""
    kw = spec.create_kwargs()
    env = kw.get("environment") or {}
    env_items = [f"{k}={v}" for k, v in env.items()] if isinstance(env, dict) else list(env)
    bindings = {f"{c}": [{"HostIp": h[0], "HostPort": str(h[1])}] for c, h in (kw.get("ports") or {}).items()}
    return {"Name": "/" + kw["name"], "Config": {"Image": kw["image"], "Env": ["PATH=/usr/bin", *env_items],
                                                 "Cmd": kw.get("command"), "Labels": kw["labels"]},
            "HostConfig": {"PortBindings": bindings}, "NetworkSettings": {"Ports": {}}}


def test_project_and_stock_containers_read_back_to_the_same_settings_hash():
    for image in ("example/gpt-oss-sglang:dev", "lmsysorg/sglang:v0.5.23-cu129"):
        values = resolve_values(cli={"image": image, "max_model_len": "4096", "enable_cache_report": True,
                                     "extra_args": "--decode-log-interval 10", "host_port": "18000",
                                     "container_name": "mine", "api_key": "sk-never-read-back-0006"}).values
        spec = build_spec(values)
        back = settings_of(attrs_of(spec))
        assert back["max_model_len"] == "4096" and back["container_name"] == "mine" and back["host_port"] == "18000"
        assert "api_key" not in back and "sk-never" not in repr(back)
        again = build_spec(resolve_values(cli={**back, "api_key": "sk-never-read-back-0006"}).values)
        assert again.settings_hash == spec.settings_hash, (image, back)
        assert spec.labels[S.LABEL_MODE] == ("stock" if "lmsysorg" in image else "project")
