"""``status`` on a real Docker Engine: a server up for a long time is reported from the start of
its log up to ready (not its whole log), and ``status NAME`` reads only that container.
(Launch → status → stop round trips are in test_cli_launch.py; the cost is measured by
tests/perf/bench_status.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.cli import main
from console.cli.common import EXIT_FAILED, EXIT_NOT_FOUND, EXIT_OK
from console.runtime.spec import LABEL_OWNED
from tests.fixtures.docker_engine import wait_for_log
from tests.runtime_helpers import isolate_state

pytestmark = pytest.mark.docker
DATA = Path(__file__).parent / "data" / "logs"
LOGS = {str(DATA): {"bind": "/logs", "mode": "ro"}}

# healthy start-up, then a long steady state (decode lines), then it keeps running
LONG_RUN = (
    "import sys, time\n"
    "sys.stdout.write(open('/logs/healthy_20b.log').read())\n"
    "line = '[2026-01-05 14:31:00 TP0] Decode batch. #running-req: 8, #token: 9320, token usage: 0.01, gen throughput (token/s): 1348.22, #queue-req: 0\\n'\n"
    "for _ in range(200): sys.stdout.write(line * 1000)\n"
    "sys.stdout.write('steady state written\\n'); sys.stdout.flush()\n"
    "time.sleep(100000)\n"
)


@pytest.fixture
def xdg(tmp_path, monkeypatch):
    isolate_state(tmp_path, monkeypatch)
    return tmp_path


def status(capsys, *argv) -> tuple[int, list[dict]]:
    code = main(["status", *argv, "--json"])
    out, _ = capsys.readouterr()
    return code, json.loads(out)["containers"]


def test_long_running_server_is_ready_with_its_start_up_timing(xdg, base_image, containers, capsys) -> None:
    c = containers.run(base_image, ["python3", "-c", LONG_RUN], labels={LABEL_OWNED: "1"}, volumes=LOGS)
    wait_for_log(c, "steady state written", timeout=60)
    code, rows = status(capsys, c.name)
    assert code == EXIT_OK
    (row,) = rows
    assert row["name"] == c.name and row["running"]
    assert row["phase"] == "ready" and row["phase_detail"] == "ready"
    # the log is written in one go: ready within a second of the container's start
    assert row["time_to_ready_s"] is not None and 0 <= row["time_to_ready_s"] < 5


def test_status_of_one_container_reads_no_other(xdg, base_image, containers, capsys) -> None:
    ok = containers.run(base_image, ["sh", "-c", "cat /logs/healthy_20b.log; sleep 100000"], labels={LABEL_OWNED: "1"}, volumes=LOGS)
    crashed = containers.run(base_image, ["sh", "-c", "cat /logs/fail_cuda_oom.log; exit 1"], labels={LABEL_OWNED: "1"}, volumes=LOGS)
    crashed.wait(timeout=30)
    wait_for_log(ok, "fired up and ready")

    code, rows = status(capsys, ok.name)
    assert code == EXIT_OK and [r["name"] for r in rows] == [ok.name]
    # the crashed one was not even replayed: no crash bundle for it yet
    assert not list(xdg.rglob(f"{crashed.name}-*.json"))

    code, rows = status(capsys, crashed.id[:12])
    (row,) = rows
    assert code == EXIT_FAILED and row["phase"] == "exited" and row["exit_code"] == 1
    assert row["crash_bundle"] and Path(row["crash_bundle"]).exists()
    assert list(xdg.rglob(f"{crashed.name}-*.json")) == [Path(row["crash_bundle"])]
    assert row["diagnoses"]


def test_status_of_an_unknown_container_is_not_found(xdg, docker_client, capsys) -> None:
    code, rows = status(capsys, "gpt-oss-console-test-no-such-container")
    assert code == EXIT_NOT_FOUND and rows == []


# ready, then quiet, then lines that came later (requests): all stored before status reads them
READY_THEN_LATER = (
    "import sys, time\n"
    "sys.stdout.write(open('/logs/healthy_20b.log').read()); sys.stdout.flush()\n"
    "time.sleep(3)\n"
    "print('[2026-01-05 14:31:40] INFO:     127.0.0.1:5 - \"POST /v1/chat/completions HTTP/1.1\" 200 OK', flush=True)\n"
    "time.sleep(float(sys.argv[1]))\n"
)


@pytest.mark.parametrize("after", ["0", "100000"], ids=["stopped", "running"])
def test_ready_in_is_the_time_of_the_ready_line_not_of_the_last_line_read(xdg, base_image, containers, capsys, after) -> None:
    """Issue 19 bug 6: the log was replayed in batches and every event of a batch was dated by the
    batch's last line, so a server that logged anything after ready reported that as "ready in"."""
    c = containers.run(base_image, ["python3", "-c", READY_THEN_LATER, after], labels={LABEL_OWNED: "1"}, volumes=LOGS)
    wait_for_log(c, "POST /v1/chat/completions", timeout=60)
    if after == "0":
        c.wait(timeout=30)
    code, rows = status(capsys, c.name)
    (row,) = rows
    assert row["time_to_ready_s"] is not None and 0 <= row["time_to_ready_s"] < 2.5, row
    main(["status", c.name])
    out, _ = capsys.readouterr()
    assert f"ready in {row['time_to_ready_s']}s" in out


def test_status_of_a_name_that_matches_nothing_says_so(xdg, base_image, containers, capsys) -> None:
    """Issue 19 bug 11: with containers there, `status nosuch` said "No containers started by the
    console…"; say that none matches nosuch, as stop does."""
    containers.run(base_image, ["sleep", "100"], labels={LABEL_OWNED: "1"})
    code = main(["status", "gpt-oss-console-test-nosuch"])
    out, _ = capsys.readouterr()
    assert code == EXIT_NOT_FOUND
    assert "no console container matches 'gpt-oss-console-test-nosuch'" in out
    assert "No containers started" not in out and "no containers started" not in out
    code, rows = status(capsys, "gpt-oss-console-test-nosuch")
    assert code == EXIT_NOT_FOUND and rows == []


def test_a_killed_and_a_refused_container_are_explained_in_status_and_the_bundle(xdg, base_image, console_image,
                                                                                 containers, capsys) -> None:
    """Exit 137 gets its explanation (SIGKILL / the OOM killer) and the image's own exit-3 refusal
    ("nvidia-smi sees no usable GPU") its diagnosis, in status and in the crash bundle."""
    killed = containers.run(base_image, ["sh", "-c", "echo up; sleep 100"], labels={LABEL_OWNED: "1"})
    wait_for_log(killed, "up")
    killed.kill()
    killed.wait(timeout=30)
    refused = containers.run(console_image, labels={LABEL_OWNED: "1"})  # no GPU: the entrypoint refuses
    assert refused.wait(timeout=60)["StatusCode"] == 3
    for c, code, words in ((killed, "sigkill", "SIGKILL"), (refused, "no_usable_gpu", "no usable GPU")):
        _, (row,) = status(capsys, c.name)
        assert row["exit_code"] in (137, 3)
        assert code in [d["code"] for d in row["diagnoses"]], row["diagnoses"]
        assert any(words in d["title"] for d in row["diagnoses"])
        bundle = json.loads(Path(row["crash_bundle"]).read_text())
        assert code in [d["code"] for d in bundle["diagnoses"]]
