"""The hosts file and --host: people type them, so every mistake must come back as a sentence.

Property tests (hypothesis) feed arbitrary bytes, arbitrary TOML and arbitrary values under
the known keys: the answer is a FleetConfig or a HostsFileError that names where and says
what to write, never another exception.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.cli import main
from console.fleet import hosts as H
from console.fleet.settings import BY_KEY, FLEET_SETTINGS

CASES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_sentence(exc: H.HostsFileError) -> None:
    assert exc.message and exc.message[0] != " " and "Traceback" not in exc.message
    assert exc.hint, f"no hint for: {exc.message}"
    assert exc.exit_code == 2


def parse_or_sentence(raw):
    try:
        return H.parse(raw, source="hosts.toml", env={})
    except H.HostsFileError as exc:
        assert_sentence(exc)
        return None


# -- properties -----------------------------------------------------------------------------------

toml_scalars = st.one_of(
    st.text(max_size=30), st.integers(min_value=-(2**63), max_value=2**63 - 1), st.booleans(),
    st.floats(allow_nan=False), st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 1, 1)),
)
toml_values = st.recursive(toml_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(min_size=1, max_size=12), inner, max_size=4)), max_leaves=8)
fleet_keys = st.sampled_from([s.key for s in FLEET_SETTINGS] + ["nme", "Router", ""])
host_keys = st.sampled_from(["ssh", "address", "bind", "port", "gpus", "hf_cache", "docker_socket", "docker_context",
                             "sssh", "GPUS"])
host_names = st.one_of(st.sampled_from(["gpu1", "local", "box.lan", "a_b-c", "-bad", "with space", "x" * 70]),
                       st.text(min_size=1, max_size=20))
documents = st.fixed_dictionaries({}, optional={
    "fleet": st.one_of(st.dictionaries(fleet_keys, toml_values, max_size=5), toml_scalars),
    "hosts": st.one_of(st.dictionaries(host_names, st.one_of(st.dictionaries(host_keys, toml_values, max_size=5),
                                                             toml_scalars), max_size=4), toml_scalars),
    "extra": toml_values,
})


@CASES
@given(st.binary(max_size=300))
def test_any_bytes_parse_or_say_why(raw):
    parse_or_sentence(raw)


@CASES
@given(documents)
def test_any_toml_document_parses_or_says_why(doc):
    cfg = parse_or_sentence(tomli_w.dumps(doc))
    if cfg is not None:  # what was accepted is usable as declared
        for host in cfg.hosts.values():
            assert H.NAME_RE.match(host.name) and 1 <= host.port <= 65535
            assert host.is_local == (host.name == "local")


valid_names = st.from_regex(r"\A[a-z][a-z0-9-]{0,15}\Z").filter(lambda n: n != "local")


@CASES
@given(st.dictionaries(valid_names, st.fixed_dictionaries({
    "port": st.integers(1, 65535),
    "gpus": st.lists(st.integers(0, 15), min_size=1, max_size=8, unique=True),
    "bind": st.sampled_from(["0.0.0.0", "127.0.0.1", "10.1.2.3", "::1"]),
}, optional={"ssh": st.sampled_from(["root@10.0.0.5", "ssh://ops@box:2222", "gpu-alias", "[::1]"])}),
    min_size=1, max_size=5), st.integers(1, 65535), st.sampled_from(["cache_aware", "round_robin"]))
def test_valid_files_read_back_exactly(hosts, router_port, policy):
    cfg = H.parse(tomli_w.dumps({"fleet": {"router_port": router_port, "policy": policy}, "hosts": hosts}), env={})
    assert cfg.router_port == router_port and cfg.policy == policy
    for name, table in hosts.items():
        h = cfg.hosts[name]
        assert h.port == table["port"] and h.gpus == tuple(sorted(table["gpus"])) and h.bind == table["bind"]
        assert h.ssh == table.get("ssh", name)  # no ssh: the name is an alias in ~/.ssh/config


@CASES
@given(st.text(max_size=40))
def test_any_host_flag_is_a_host_or_a_sentence(spec):
    cfg = H.FleetConfig(hosts={"gpu1": H.Host("gpu1", ssh="gpu1")})
    try:
        host = H.host_from_spec(spec, cfg, env={"DOCKER_CONFIG": "/nonexistent"})
    except H.HostsFileError as exc:
        assert_sentence(exc)
        return
    assert H.NAME_RE.match(host.name)
    assert host.ssh is None or not host.ssh.startswith("-")  # never an option to ssh


# -- examples -------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, words", [
    ('[fleet]\nrouter_port = "abc"', "router_port"),
    ("[fleet]\nrouter_port = 70000", "1–65535"),
    ('[fleet]\npolicy = "fastest"', "cache_aware"),
    ('[fleet]\nrouter = "gpu9"', "gpu9"),
    ('[fleet]\nnmae = "x"', "unknown key 'nmae'"),
    ("[hosts.gpu1]\nprot = 22", "unknown key 'prot'"),
    ('[hosts.gpu1]\nssh = "root@10.0.0.5:2222"', "ssh://root@10.0.0.5:2222"),
    ('[hosts.gpu1]\nssh = "-oProxyCommand=evil"', "not an SSH destination"),
    ('[hosts.gpu1]\ngpus = "0,zero"', "GPU indices"),
    ('[hosts.gpu1]\ngpus = [1, 1]', "twice"),
    ('[hosts.gpu1]\nbind = "gpu1.lan"', "IP address"),
    ('[hosts.local]\nssh = "box"', "'local' is this machine"),
    ('[hosts."bad name"]\nport = 1', "cannot name containers"),
    ("[hosts]\ngpu1 = 3", "[hosts.gpu1]"),
    ("[fleet\n", "line 1"),
    ('[hosts.gpu1]\nssh = "a"\ndocker_context = "b"', "not both"),
])
def test_mistakes_name_the_place_and_the_fix(text, words):
    with pytest.raises(H.HostsFileError) as exc:
        H.parse(text, source="hosts.toml", env={})
    assert_sentence(exc.value)
    assert words in str(exc.value)


def test_flags_win_over_the_file_and_defaults_come_from_the_declaration():
    cfg = H.parse('[fleet]\nrouter_port = 31000\npolicy = "round_robin"\n[hosts.a]\n', env={})
    assert cfg.router_port == 31000 and cfg.prometheus_port == BY_KEY["prometheus_port"].default
    cfg = cfg.with_settings({"router_port": 32000})
    assert cfg.router_port == 32000 and cfg.policy == "round_robin"
    with pytest.raises(H.HostsFileError):
        cfg.with_settings({"router": "nosuch"})
    assert cfg.with_settings({"router": "a"}).router_host.name == "a"
    assert cfg.router_listen == "127.0.0.1" and cfg.with_settings({"router": "a"}).router_listen == "0.0.0.0"


def test_docker_contexts_and_docker_host(tmp_path):
    meta = tmp_path / "contexts" / "meta" / hashlib.sha256(b"gpu-box").hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({"Name": "gpu-box", "Endpoints": {"docker": {"Host": "ssh://ops@10.0.0.7"}}}))
    env = {"DOCKER_CONFIG": str(tmp_path)}
    cfg = H.parse('[hosts.box]\ndocker_context = "gpu-box"\n', env=env)
    assert cfg.hosts["box"].ssh == "ssh://ops@10.0.0.7"
    host = H.host_from_spec("context:gpu-box", H.FleetConfig(), env=env)
    assert host.ssh == "ssh://ops@10.0.0.7" and host.name == "gpu-box"
    with pytest.raises(H.HostsFileError) as exc:
        H.host_from_spec("context:nosuch", H.FleetConfig(), env=env)
    assert "docker context ls" in exc.value.hint
    # No hosts file and DOCKER_HOST=ssh://…: that host; neither: this machine.
    assert [h.ssh for h in H.default_hosts(H.FleetConfig(), env={"DOCKER_HOST": "ssh://root@10.0.0.9:2222"})] == \
        ["ssh://root@10.0.0.9:2222"]
    assert [h.name for h in H.default_hosts(H.FleetConfig(), env={})] == ["local"]


def test_a_bad_hosts_file_is_an_error_line_not_a_traceback(tmp_path, capsys, monkeypatch):
    bad = tmp_path / "hosts.toml"
    bad.write_text('[hosts.gpu1]\nport = "twenty"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    code = main(["fleet", "status", "--hosts-file", str(bad)])
    out, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in err
    assert err.startswith("error: ") and "port" in err and "→" in err
    code = main(["fleet", "plan", "--hosts-file", str(bad), "--json"])
    out, _ = capsys.readouterr()
    assert code == 2 and json.loads(out)["error"]
