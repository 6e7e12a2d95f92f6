"""Property tests: a server's ``/metrics`` page is the server's to write. Whatever it holds —
SGLang's families with odd labels and values, other engines' names, text that is not
Prometheus at all, pages that go backwards between scrapes — ``metrics`` prints views (text,
or JSON a strict parser reads) or says in one sentence what is wrong, never a traceback.

The pages go through a real socket: a stdlib server answers each GET of ``/metrics`` with the
next generated page (the last one repeats).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import example, given, strategies as st

from console.cli import main
from console.errors import ConsoleError
from console.server.metrics import COUNTERS, GAUGES, HISTOGRAMS, PREFIX, parse, view

# -------------------------------------------------------------------------- strategies

KNOWN = ([PREFIX + m for m, _ in GAUGES.values()] + [PREFIX + m for m in COUNTERS.values()]
         + [PREFIX + m for m in HISTOGRAMS.values()])
metric_names = st.sampled_from(KNOWN + ["sglang:other", "vllm:num_requests_running", "process_cpu_seconds",
                                        "sglang:", "sglang:token_usage_total"]) \
    | st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,20}", fullmatch=True)
numbers = st.sampled_from(["0", "1", "-1", "1e308", "-1e308", "NaN", "+Inf", "-Inf", "3.5", "0.0001", "1e-320",
                           "nan", "12345678901234567890"]) | st.floats().map(repr) | st.integers().map(str)
label_values = st.sampled_from(["0", "1", "2", "10", "openai/gpt-oss-20b", "", "a\\\"b", "x\\\\y", "+Inf", "0.5",
                                "NaN", "abc"]) | st.text(st.characters(exclude_characters='"\\\n'), max_size=8)
label_names = st.sampled_from(["tp_rank", "dp_rank", "model_name", "le", "pp_rank", "engine", "quantile"])
labels = st.dictionaries(label_names, label_values, max_size=3).map(
    lambda d: "{" + ",".join(f'{k}="{v}"' for k, v in d.items()) + "}" if d else "")
kinds = st.sampled_from(["gauge", "counter", "histogram", "summary", "untyped", "info", "stateset", "nonsense"])
suffixes = st.sampled_from(["", "", "_total", "_bucket", "_count", "_sum", "_created"])


@st.composite
def families(draw) -> str:
    name = draw(metric_names)
    lines = []
    if draw(st.booleans()):
        lines.append(f"# HELP {name} {draw(st.text(st.characters(exclude_characters=chr(10)), max_size=10))}")
    if draw(st.booleans()):
        lines.append(f"# TYPE {name} {draw(kinds)}")
    for _ in range(draw(st.integers(0, 5))):
        lines.append(f"{name}{draw(suffixes)}{draw(labels)} {draw(numbers)}"
                     + (f" {draw(st.integers(0, 2**42))}" if draw(st.booleans()) else ""))
    return "\n".join(lines)


@st.composite
def histograms(draw) -> str:
    """A well-formed histogram family with arbitrary (possibly non-monotonic) counts."""
    name = PREFIX + draw(st.sampled_from(list(HISTOGRAMS.values())))
    ranks = draw(st.lists(st.sampled_from(["0", "1", "3"]), min_size=1, max_size=2, unique=True))
    bounds = draw(st.lists(st.sampled_from(["0.001", "0.01", "0.1", "0.5", "1.0", "10.0", "60.0"]), max_size=5,
                           unique=True))
    lines = [f"# TYPE {name} histogram"]
    for r in ranks:
        for le in sorted(bounds, key=float) + ["+Inf"]:
            lines.append(f'{name}_bucket{{le="{le}",tp_rank="{r}"}} {draw(numbers)}')
        lines.append(f'{name}_count{{tp_rank="{r}"}} {draw(numbers)}')
        lines.append(f'{name}_sum{{tp_rank="{r}"}} {draw(numbers)}')
    return "\n".join(lines)


junk = st.sampled_from(["", "#", "# EOF", "not a metric line", "{}", "x{", "sglang:token_usage{tp_rank=0} 1",
                        "sglang:token_usage 1 2 3", "\t", "sglang:num_running_reqs abc"]) | st.text(max_size=30)
pages = st.lists(st.one_of(families(), families(), histograms(), junk), max_size=8).map(
    lambda parts: "\n".join(parts) + "\n")


# -------------------------------------------------------------------------- a server that says anything


class _Pages(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802 - http.server's name
        srv = self.server
        with srv.lock:  # type: ignore[attr-defined]
            page = srv.pages[min(srv.served, len(srv.pages) - 1)]  # type: ignore[attr-defined]
            srv.served += 1  # type: ignore[attr-defined]
        body = page.encode("utf-8", "surrogatepass")
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    srv.daemon_threads = True
    srv.lock, srv.pages, srv.served = threading.Lock(), ["\n"], 0
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _strict(text: str):
    """JSON as a strict reader (jq, JavaScript) takes it: no NaN or Infinity."""
    def refuse(word):
        raise ValueError(f"{word} is not JSON")

    return json.loads(text, parse_constant=refuse)


# -------------------------------------------------------------------------- properties


@given(texts=st.lists(pages, min_size=1, max_size=3))
@example(texts=["sglang:token_usage{tp_rank=0} 1\n"])  # found: the parser's ValueError escaped
@example(texts=["# TYPE sglang:token_usage nonsense\nsglang:token_usage 1\n"])  # found: invalid type, same
@example(texts=["# TYPE sglang:e2e_request_latency_seconds histogram\n"  # found: KeyError 'le'
                "sglang:e2e_request_latency_seconds_bucket 3\n"])
@example(texts=["# TYPE sglang:e2e_request_latency_seconds histogram\n"  # found: float('openai/…')
                'sglang:e2e_request_latency_seconds_bucket{le="openai/gpt-oss-20b"} 3\n'])
@example(texts=["sglang:token_usage NaN\n"])  # found: NaN in --json (jq and JavaScript refuse it)
@example(texts=["sglang:num_running_reqs{dp_rank=\"0\"} 1e308\nsglang:num_running_reqs{dp_rank=\"1\"} 1e308\n"])
def test_any_page_parses_or_is_refused_in_words(texts):
    previous = None
    for i, text in enumerate(texts):
        try:
            snap = parse(text, at=float(i), wall=1.7e9 + i)
        except ConsoleError as exc:  # a page that is not Prometheus text: said, with what to do
            assert exc.message.strip() and exc.hint and exc.exit_code == 3
            continue
        v = view(snap, previous)
        _strict(json.dumps(v.to_dict()))
        previous = snap


@given(texts=st.lists(pages, min_size=1, max_size=3), as_json=st.booleans())
@example(texts=["\n", "\n", "not a metric line\n"], as_json=True)  # a view, then the unreadable page's error
def test_metrics_cli_prints_views_or_a_sentence(server, texts, as_json, capsys, monkeypatch):
    monkeypatch.delenv("GPT_OSS_CONSOLE_API_KEY", raising=False)
    monkeypatch.delenv("GPT_OSS_CONSOLE_API_KEY_FILE", raising=False)
    with server.lock:
        server.pages, server.served = texts, 0
    argv = ["metrics", "--base-url", f"http://127.0.0.1:{server.server_port}", "--count", "2", "--interval", "0.001"]
    rc = main(argv + (["--json"] if as_json else []))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    if rc == 0:
        if as_json:
            docs = [d for d in out.split("\n}\n") if d.strip()]
            assert len(docs) == 2
            for d in docs:
                _strict(d if d.rstrip().endswith("}") else d + "\n}")
        else:
            assert out.count("totals: ") == 2
    else:
        assert rc == 3, (rc, out, err)
        # Views printed before the unreadable page stay printed; the error is the last document.
        docs = [d if d.rstrip().endswith("}") else d + "\n}" for d in out.split("\n}\n") if d.strip()]
        said = _strict(docs[-1]) if as_json else None
        assert (said["error"] and said["hint"]) if as_json else (err.startswith("error: ") and "→" in err)
