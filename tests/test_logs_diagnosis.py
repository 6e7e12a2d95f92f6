"""Failure diagnosis: each scripted failure log → the right diagnosis and a fix naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.logs.diagnosis import Diagnoser
from console.engines.follow import diagnose_lines

DATA = Path(__file__).parent / "data" / "logs"


@pytest.mark.parametrize(
    "name, code, setting",
    [
        ("fail_not_enough_memory.log", "not_enough_memory", "MEM_FRACTION_STATIC"),
        ("fail_cuda_oom.log", "cuda_oom", "MEM_FRACTION_STATIC"),
        ("fail_capture_cuda_graph.log", "cuda_graph_failed", "MEM_FRACTION_STATIC"),
        ("fail_port_in_use.log", "port_in_use", "PORT"),
        ("fail_bad_backend.log", "attention_backend", "ATTENTION_BACKEND"),
        ("fail_gated_repo.log", "hf_auth", "HF_TOKEN"),
        ("fail_repo_not_found.log", "hf_auth", "MODEL"),
        ("fail_health_check.log", "health_check_failed", "MAX_RUNNING_REQUESTS"),
        ("fail_warmup.log", "warmup_failed", "MEM_FRACTION_STATIC"),
    ],
)
def test_failure_logs_are_diagnosed(name: str, code: str, setting: str) -> None:
    diags = diagnose_lines((DATA / name).read_text().split("\n"))
    assert diags, name
    assert diags[0].code == code
    assert setting in diags[0].fix
    assert diags[0].title and diags[0].line


@pytest.mark.parametrize("name", ["healthy_20b.log", "healthy_120b_tp2_newer.log"])
def test_healthy_logs_have_no_diagnosis(name: str) -> None:
    assert diagnose_lines((DATA / name).read_text().split("\n")) == []


@pytest.mark.parametrize(
    "line, code",
    [
        ("RuntimeError: Not enough memory. Please try to increase --mem-fraction-static.", "not_enough_memory"),
        ("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB.", "cuda_oom"),
        ("RuntimeError: CUDA error: out of memory", "cuda_oom"),
        ("Exception: Capture cuda graph failed: CUDA out of memory. Tried to allocate 512.00 MiB.", "cuda_graph_failed"),
        ("[2026-01-05 14:31:10] ERROR:    [Errno 98] error while attempting to bind on address ('0.0.0.0', 8000): address already in use", "port_in_use"),
        ("OSError: [Errno 98] Address already in use", "port_in_use"),
        ("AssertionError: GptOssForCausalLM requires one of ['triton', 'trtllm_mha', 'fa3'] attention backend, but got flashinfer", "attention_backend"),
        ("huggingface_hub.errors.GatedRepoError: 401 Client Error. (Request ID: Root=1-abc)", "hf_auth"),
        ("huggingface_hub.errors.RepositoryNotFoundError: 401 Client Error. Repository Not Found for url: <hub>/openai/gpt-oss-999b", "hf_auth"),
        ("requests.exceptions.HTTPError: 401 Client Error: Unauthorized for url: <hub>/x", "hf_auth"),
        ("[2026-01-05 14:31:10] Health check failed. Server couldn't get a response from detokenizer for last 20 seconds.", "health_check_failed"),
        ("[2026-01-05 14:31:10] Initialization failed. warmup error: Traceback (most recent call last):", "warmup_failed"),
    ],
)
def test_line_rules(line: str, code: str) -> None:
    from console.engines.sglang.scanner import split_prefix

    diag = Diagnoser.match_line(split_prefix(line)[1])
    assert diag is not None and diag.code == code


@pytest.mark.parametrize(
    "line",
    [
        "[2026-01-05 14:31:10] Can not initialize OpenAIServingResponses, error: No module named 'openai_harmony.responses'",
        "    raise Exception(f\"Capture cuda graph failed: {e}\")",  # source quoted in a traceback
        "[2026-01-05 14:31:10] INFO:     127.0.0.1:1 - \"GET /health HTTP/1.1\" 200 OK",
        "[2026-01-05 14:31:10 TP0] Decode batch. #running-req: 8, #token: 9000, token usage: 0.05, cuda graph: True",
    ],
)
def test_harmless_lines(line: str) -> None:
    from console.engines.sglang.scanner import split_prefix

    assert Diagnoser.match_line(split_prefix(line)[1]) is None


def test_specific_cause_ranks_before_generic_traceback() -> None:
    diags = diagnose_lines((DATA / "fail_health_check.log").read_text().split("\n"))
    assert [d.code for d in diags] == ["health_check_failed", "exception"]
    assert "illegal memory access" in diags[1].title


def test_diagnosis_line_is_bounded() -> None:
    diag = Diagnoser.match_line("Health check failed " + "x" * 100_000)
    assert diag is not None and len(diag.line) <= 500
