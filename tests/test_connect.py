"""The connect core without a server: routes from where the user sits, snippets, .env updates."""

from __future__ import annotations

import json
import os
import stat

import pytest

from console.connect import routes as R
from console.connect.card import build_card, key_ref
from console.connect.dotenv import ADDED_BY, parse_value, update_env_file
from console.connect.snippets import KeyRef
from console.errors import ConsoleError
from console.secret import Secret
from console.server.endpoint import Endpoint

SSH = {"SSH_CONNECTION": "203.0.113.5 51234 198.51.100.7 22", "USER": "alice"}
KEY = "sk-connect-test-0123456789abcdef"


def kinds(found):
    return [r.kind for r in found]


def test_ssh_connection_gives_exactly_the_tunnel_command():
    found = R.routes(R.Server.from_url("http://127.0.0.1:8000"), SSH)
    assert kinds(found) == ["tunnel", "local"]
    tunnel = found[0]
    assert tunnel.first == "ssh -N -L 8000:127.0.0.1:8000 alice@198.51.100.7"
    assert tunnel.base_url == "http://127.0.0.1:8000"
    assert "203.0.113.5" in tunnel.where
    # another sshd port and another server port: -p appears, both sides of -L follow the server
    other = dict(SSH, SSH_CONNECTION="203.0.113.5 51234 198.51.100.7 2222")
    assert R.routes(R.Server.from_url("http://127.0.0.1:30000/v1"), other)[0].first == (
        "ssh -N -L 30000:127.0.0.1:30000 -p 2222 alice@198.51.100.7")


def test_ssh_client_only_names_this_host_and_ipv6_servers_are_bracketed_in_urls():
    env = {"SSH_CLIENT": "203.0.113.5 51234 22", "USER": "bob"}
    assert R.routes(R.Server.from_url("http://127.0.0.1:8000"), env)[0].first == (
        f"ssh -N -L 8000:127.0.0.1:8000 bob@{os.uname().nodename}")
    env = {"SSH_CONNECTION": "2001:db8::5 51234 2001:db8::7 22", "USER": "bob"}
    found = R.routes(R.Server.from_url("http://127.0.0.1:8000", bind="0.0.0.0"), env, addresses=lambda: [])
    assert found[0].kind == "ssh-direct" and found[0].base_url == "http://[2001:db8::7]:8000"
    assert found[1].first == "ssh -N -L 8000:127.0.0.1:8000 bob@2001:db8::7"


def test_publicly_bound_server_lists_the_hosts_addresses_once():
    server = R.Server.from_url("http://0.0.0.0:8000")
    assert server.public and server.url == "http://127.0.0.1:8000"
    found = R.routes(server, SSH, addresses=lambda: ["198.51.100.7", "10.1.2.3", "fd00::2"])
    assert kinds(found) == ["ssh-direct", "tunnel", "address", "address", "local"]
    assert [r.base_url for r in found if r.kind == "address"] == ["http://10.1.2.3:8000", "http://[fd00::2]:8000"]
    # bound on one address only: that address, and the tunnel forwards to it
    one = R.Server.from_url("http://127.0.0.1:8000", bind="10.1.2.3")
    found = R.routes(one, SSH, addresses=lambda: pytest.fail("not asked: the bind says where"))
    assert found[0].first == "ssh -N -L 8000:10.1.2.3:8000 alice@198.51.100.7"
    assert [r.base_url for r in found if r.kind == "address"] == ["http://10.1.2.3:8000"]
    # loopback only, no SSH: this machine alone
    assert kinds(R.routes(R.Server.from_url("http://127.0.0.1:8000"), {})) == ["local"]


def test_runpod_variables_give_the_pod_urls_and_its_ssh_tunnel():
    env = {"RUNPOD_POD_ID": "abc123xyz", "RUNPOD_PUBLIC_IP": "203.0.113.9", "RUNPOD_TCP_PORT_8000": "40123",
           "RUNPOD_TCP_PORT_22": "40022", **SSH}
    found = R.routes(R.Server.from_url("http://127.0.0.1:8000"), env)
    assert [(r.kind, r.base_url) for r in found] == [
        ("runpod-proxy", "https://abc123xyz-8000.proxy.runpod.net"),
        ("runpod-tcp", "http://203.0.113.9:40123"),
        ("tunnel", "http://127.0.0.1:8000"),
        ("local", "http://127.0.0.1:8000"),
    ]
    # inside a pod the SSH session's server address is the container's: RunPod's public port wins
    assert found[2].first == "ssh -N -L 8000:127.0.0.1:8000 -p 40022 root@203.0.113.9"
    # only the pod id: the proxy alone
    assert kinds(R.routes(R.Server.from_url("http://127.0.0.1:8000"), {"RUNPOD_POD_ID": "p1"})) == [
        "runpod-proxy", "local"]


@pytest.mark.parametrize("url", ["ftp://host:21", "http://:8000", "http://host:0", "http://host:99999", "  "])
def test_unusable_urls_are_refused_in_words(url):
    with pytest.raises(ConsoleError) as err:
        R.Server.from_url(url)
    assert err.value.exit_code == 2 and "http://127.0.0.1:8000" in err.value.hint


def test_pick_names_the_routes_there_are():
    found = R.routes(R.Server.from_url("http://127.0.0.1:8000"), {})
    with pytest.raises(ConsoleError) as err:
        R.pick(found, "runpod-proxy")
    assert "local" in err.value.hint


def test_snippets_never_carry_the_key_and_read_it_from_where_it_came():
    secret = Secret(KEY, source="env GPT_OSS_CONSOLE_API_KEY")
    card = build_card(Endpoint("http://127.0.0.1:8000", secret, "openai/gpt-oss-20b"), "openai/gpt-oss-20b", env={})
    everything = json.dumps(card.to_dict(), default=str)
    assert KEY not in everything and "$OPENAI_API_KEY" in card.snippet("curl-chat").text
    assert 'os.environ["OPENAI_API_KEY"]' in card.snippet("python-chat").text
    # a key from a file: the snippets read that file
    from_file = Secret(KEY, source="file /run/secrets/api_key")
    card = build_card(Endpoint("http://127.0.0.1:8000", from_file), "m", env={})
    assert card.key.file == "/run/secrets/api_key"
    assert '"$(cat /run/secrets/api_key)"' in card.snippet("curl-tool").text
    assert 'Path("/run/secrets/api_key").read_text().strip()' in card.snippet("python-tool").text
    # no key at all: no Authorization header, and a placeholder the openai client accepts
    card = build_card(Endpoint("http://127.0.0.1:8000"), "m", env={})
    assert "Authorization" not in card.snippet("curl-chat").text
    assert 'api_key="not-needed"' in card.snippet("python-chat").text
    assert key_ref(Endpoint("http://x:1")) == KeyRef(needed=False)


def test_snippets_are_valid_python_json_and_shell_words():
    import ast
    import shlex

    card = build_card(Endpoint("http://127.0.0.1:8000", Secret(KEY)), "o'dd \"model\"", env={})
    for name in ("python-chat", "python-tool"):
        ast.parse(card.snippet(name).text)
    assert json.loads(card.snippet("agent").text)["llm"]["model"] == "o'dd \"model\""
    body = shlex.split(card.snippet("curl-chat").text.replace("\\\n", " ").split("|", 1)[1])[-1]
    assert json.loads(body)["model"] == "o'dd \"model\""


# -------------------------------------------------------------------------------- .env

ORIGINAL = (
    "# my agent's settings\n"
    "FOO=bar   # keep this comment\n"
    "export LLM_BASE_URL=\"http://old-host:9/v1\"\n"
    "\n"
    "OPENAI_API_KEY='sk-old-key-abcdefghijklmnop'\n"
    "QUOTED=\"a # not a comment\"\n"
    "LAST=tail"  # no newline at the end
)
NEW = {"LLM_BASE_URL": "http://127.0.0.1:8000/v1", "OPENAI_BASE_URL": "http://127.0.0.1:8000/v1",
       "LLM_MODEL": "openai/gpt-oss-20b", "OPENAI_API_KEY": Secret(KEY)}


def test_write_env_refuses_other_values_then_changes_only_its_keys(tmp_path):
    env = tmp_path / ".env"
    env.write_text(ORIGINAL)
    os.chmod(env, 0o644)
    with pytest.raises(ConsoleError) as err:
        update_env_file(env, NEW)
    text = str(err.value)
    assert "LLM_BASE_URL holds 'http://old-host:9/v1'" in text and "OPENAI_API_KEY" in text and "--force" in text
    assert "sk-old-key-abcdefghijklmnop" not in text and KEY not in text  # secrets masked in the refusal
    assert env.read_text() == ORIGINAL and not (tmp_path / ".env.bak").exists()

    result = update_env_file(env, NEW, force=True)
    assert result.changed == ["LLM_BASE_URL", "OPENAI_API_KEY"] and result.added == ["OPENAI_BASE_URL", "LLM_MODEL"]
    lines = env.read_text().splitlines()
    before = ORIGINAL.splitlines()
    assert lines[:len(before)] == [
        before[0], before[1], 'export LLM_BASE_URL="http://127.0.0.1:8000/v1"'.replace('"', ""), before[3],
        f"OPENAI_API_KEY={KEY}", before[5], before[6]]
    assert lines[len(before):] == [ADDED_BY, "OPENAI_BASE_URL=http://127.0.0.1:8000/v1", "LLM_MODEL=openai/gpt-oss-20b"]
    assert (tmp_path / ".env.bak").read_text() == ORIGINAL
    for path in (env, tmp_path / ".env.bak"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600

    # the same values again: nothing to write, the file is not even rewritten
    inode = env.stat().st_ino
    again = update_env_file(env, NEW)
    assert not again.wrote and sorted(again.unchanged) == sorted(NEW) and env.stat().st_ino == inode


def test_write_env_creates_a_missing_file_in_an_existing_folder_and_follows_links(tmp_path):
    created = update_env_file(tmp_path / "new.env", {"LLM_MODEL": "m"})
    assert created.created and created.backup is None
    assert (tmp_path / "new.env").read_text() == f"{ADDED_BY}\nLLM_MODEL=m\n"
    with pytest.raises(ConsoleError) as err:
        update_env_file(tmp_path / "no" / ".env", {"A": "b"})
    assert err.value.exit_code == 2 and "does not exist" in err.value.message
    real = tmp_path / "real.env"
    real.write_text("A=1\r\n")
    link = tmp_path / "link.env"
    link.symlink_to(real)
    update_env_file(link, {"B": "two words"})
    assert link.is_symlink() and real.read_bytes() == f'A=1\r\n{ADDED_BY}\r\nB="two words"\r\n'.encode()


@pytest.mark.parametrize("raw, value", [
    ("plain", "plain"), ("plain # comment", "plain"), ("'single # kept'", "single # kept"),
    ('"double \\" quote"', 'double " quote'), ('"a\\nb"', "a\nb"), ("", ""), ("  spaced  ", "spaced"),
    ("'unclosed", "'unclosed"), ("url#frag", "url#frag"),
])
def test_dotenv_values_read_like_dotenv_does(raw, value):
    assert parse_value(raw) == value
