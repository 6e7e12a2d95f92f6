"""The bake-off's result: JSON (with its schema), and the seed's comparison table with measured
cells as Markdown — each of the seed's claims next to what was measured.

The seed's claims are quoted as issue 13 records them; none is taken on trust.
"""

from __future__ import annotations

from typing import Any

from console.compare.stats import Rate, interval_text

TOOL_CHECKS = ("tool-auto", "tool-required", "tool-named", "parallel-calls", "multi-turn", "streaming-tool-call",
               "dotted-tool-name", "empty-arguments")

# (key, what the seed says)
CLAIMS = (
    ("stability", "tool-call stability is \"excellent\" on SGLang and llama.cpp"),
    ("leaks", "vLLM's \"state-cache impedance mismatch\" leaks Harmony tokens under prefix caching "
              "(so SGLang for tool calling)"),
    ("chunked-prefill", "chunked prefill + prefix caching is broken on vLLM"),
    ("ttft", "SGLang has 3.7× faster TTFT than vLLM at low concurrency"),
    ("throughput", "SGLang reaches ~95 % of vLLM's throughput"),
)
SEED = dict(CLAIMS)


SCHEMA_ID = "gpt-oss-console/compare-result/1"


def build_result(runner: Any, *, started: str, finished: str) -> dict[str, Any]:
    c = runner.config
    endpoints = []
    for st in runner.states:
        leaks = Rate(st.leaky_turns, st.turns)
        lo, hi = leaks.interval
        failed = [n for n, cell in st.cells.items() if cell.counts["fail"]]
        endpoints.append({
            "name": st.name, "base_url": st.url,
            "api_key": st.named.endpoint.api_key.masked if st.named.endpoint.api_key else None,
            "model": st.model, "max_model_len": st.max_model_len, "engine": st.engine, "error": st.error,
            "checks": {n: cell.to_dict() for n, cell in st.cells.items()},
            "leaks": {"turns": st.turns, "leaky_turns": st.leaky_turns,
                      "per_1000": leaks.value * 1000 if leaks.n else None, "ci95_per_1000": [lo * 1000, hi * 1000]},
            "soak": st.soak, "agreement": st.agreement, "cold_cached": st.cold_cached, "bench": st.bench,
            "conformance": "unreachable" if st.error else ("fail" if failed else "pass"),
            "failed_checks": failed,
        })
    result = {
        "schema": SCHEMA_ID, "started_at": started, "finished_at": finished, "command": c.command,
        "config": {"checks": c.checks(), "repeat": c.repeat, "max_repeat": c.max_repeat, "soak": c.soak,
                   "agreement": c.agreement, "prefix_tokens": c.prefix_tokens,
                   "concurrency": list(c.concurrency) if c.bench else [], "requests": c.requests,
                   "input_len": c.input_len, "output_len": c.output_len, "price_per_hour": c.price_per_hour,
                   "max_tokens": c.max_tokens, "temperature": c.temperature, "replays": c.replays},
        "runs": runner.runs, "endpoints": endpoints, "exit_code": runner.exit_code(),
    }
    result["claims"] = evaluate_claims(result)
    return result


# ---------------------------------------------------------------------------------- claims


def _kind(ep: dict[str, Any]) -> str:
    kind = (ep.get("engine") or {}).get("kind") or "unknown"
    return "llama.cpp" if kind == "llama-cpp-python" else kind


def _by_kind(result: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [ep for ep in result["endpoints"] if not ep["error"] and _kind(ep) == kind]


def _level(ep: dict[str, Any], conc: int) -> dict[str, Any] | None:
    return next((lv for lv in ep.get("bench") or [] if lv.get("concurrency") == conc and "error" not in lv), None)


def _ttft_c1(ep: dict[str, Any]) -> float | None:
    lv = _level(ep, 1)
    return (lv or {}).get("ttft_ms", {}).get("p50") if lv else None


def _pool(ep: dict[str, Any], names=TOOL_CHECKS) -> Rate:
    ok = n = 0
    for name in names:
        cell = ep["checks"].get(name)
        if cell:
            ok += cell["pass"]
            n += cell["pass"] + cell["fail"]
    return Rate(ok, n)


def evaluate_claims(result: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    sglang, vllm = _by_kind(result, "sglang"), _by_kind(result, "vllm")
    llama = _by_kind(result, "llama.cpp")
    for key, says in CLAIMS:
        measured, verdict = "", "not measured"
        if key == "stability":
            eps = sglang + llama
            if not eps:
                measured = "no SGLang or llama.cpp endpoint"
            else:
                parts, verdicts = [], []
                for ep in eps:
                    rate = _pool(ep)
                    lo, hi = rate.interval
                    parts.append(f"{ep['name']}: {interval_text(rate)} of tool-call runs passed")
                    verdicts.append("holds" if rate.n and lo >= 0.95 else
                                    "does not hold" if rate.n and hi < 0.95 else "not shown yet")
                measured = "; ".join(parts)
                verdict = ("does not hold" if "does not hold" in verdicts else
                           "holds" if all(v == "holds" for v in verdicts) else "not shown yet: more runs needed")
        elif key == "leaks":
            rows = [f"{ep['name']}: {ep['leaks']['leaky_turns']} of {ep['leaks']['turns']} turns"
                    for ep in result["endpoints"] if not ep["error"]]
            measured = "; ".join(rows) or "no endpoint answered"
            if not vllm:
                verdict = "not measured: no vLLM endpoint"
            else:
                leaked = [ep for ep in vllm if Rate(ep["leaks"]["leaky_turns"], ep["leaks"]["turns"]).excludes(0.0)]
                verdict = "holds: vLLM leaked" if leaked else "not shown: vLLM leaked in no turn"
        elif key == "chunked-prefill":
            rows = [f"{ep['name']}: {_cold_text(ep)}" for ep in result["endpoints"] if not ep["error"]]
            measured = "; ".join(rows) or "no endpoint answered"
            judged = [ep for ep in vllm if (ep.get("cold_cached") or {}).get("identical") is not None]
            if not vllm:
                verdict = "not measured: no vLLM endpoint"
            elif not judged:
                verdict = "not measured: the cold-vs-cached request failed on vLLM"
            else:
                verdict = ("holds: vLLM's output changed with a cached prefix"
                           if any(not ep["cold_cached"]["identical"] for ep in judged) else "does not hold")
        elif key in ("ttft", "throughput"):
            if not (sglang and vllm):
                verdict = "not measured: needs an SGLang and a vLLM endpoint"
                measured = "; ".join(f"{ep['name']}: {_bench_text(ep, key)}" for ep in result["endpoints"]
                                     if not ep["error"] and ep.get("bench")) or "no bench"
            elif key == "ttft":
                s, v = _ttft_c1(sglang[0]), _ttft_c1(vllm[0])
                if s and v:
                    ratio = v / s
                    measured = f"TTFT p50 at c=1: {sglang[0]['name']} {s:.0f} ms, {vllm[0]['name']} {v:.0f} ms: {ratio:.2f}×"
                    verdict = "holds" if ratio >= 3.7 else "does not hold"
                else:
                    measured = "no TTFT at concurrency 1 on both"
            else:
                levels = sorted({lv["concurrency"] for lv in sglang[0].get("bench") or []}
                                & {lv["concurrency"] for lv in vllm[0].get("bench") or []})
                s = _level(sglang[0], levels[-1]) if levels else None
                v = _level(vllm[0], levels[-1]) if levels else None
                if s and v and v["output_throughput"]:
                    ratio = s["output_throughput"] / v["output_throughput"]
                    measured = (f"output tok/s at c={levels[-1]}: {sglang[0]['name']} {s['output_throughput']:.0f}, "
                                f"{vllm[0]['name']} {v['output_throughput']:.0f}: {ratio * 100:.0f} %")
                    verdict = ("holds" if 0.90 <= ratio <= 1.0 else
                               "does not hold: SGLang is faster" if ratio > 1.0 else "does not hold: SGLang is slower")
                else:
                    measured = "no common bench level"
        out.append({"claim": key, "seed": says, "measured": measured, "verdict": verdict})
    return out


def _cold_text(ep: dict[str, Any]) -> str:
    cc = ep.get("cold_cached")
    if not cc:
        return "not run"
    if cc.get("error"):
        return f"error ({_short(cc['error'], 60)})"
    cached = cc.get("warm_cached_tokens")
    extra = f", {cached} of {cc.get('prompt_tokens')} prompt tokens cached" if cached is not None else ""
    return ("identical" if cc["identical"] else "different") + f" ({cc['words']}-word prefix{extra})"


def _bench_text(ep: dict[str, Any], key: str) -> str:
    if key == "ttft":
        v = _ttft_c1(ep)
        return "—" if v is None else f"TTFT p50 {v:.0f} ms at c=1"
    lv = [x for x in ep.get("bench") or [] if "error" not in x]
    return "—" if not lv else f"{lv[-1]['output_throughput']:.1f} tok/s at c={lv[-1]['concurrency']}"


def _short(text: str, n: int = 80) -> str:
    t = " ".join((text or "").split())
    return t if len(t) <= n else t[: n - 1] + "…"


# ---------------------------------------------------------------------------------- cells


def check_cell(cell: dict[str, Any] | None) -> str:
    if not cell:
        return "—"
    n = cell["pass"] + cell["fail"]
    if n == 0:
        if cell["unsupported"]:
            return f"unsupported ({cell['unsupported']}×)"
        return "skipped" if cell["skip"] else "—"
    s = cell["success"]
    text = interval_text(Rate(s["k"], s["n"]))
    if cell["shapes"]:
        top, count = next(iter(cell["shapes"].items()))
        verdict = next((r["verdict"] for r in cell["replays"] if r.get("verdict")), None)
        text += f" · {top} ×{count}" + (f" ({verdict})" if verdict else "")
    if cell["unsupported"]:
        text += f" · unsupported ×{cell['unsupported']}"
    return text


def _leak_cell(ep: dict[str, Any]) -> str:
    lk = ep["leaks"]
    if not lk["turns"]:
        return "—"
    lo, hi = lk["ci95_per_1000"]
    return f"{lk['per_1000']:.0f} [{lo:.0f}–{hi:.0f}] of {lk['turns']} turns"


def _agree_cell(ep: dict[str, Any]) -> str:
    a = ep.get("agreement")
    if not a or not a.get("pairs"):
        return "—"
    return f"{a['agree']}/{a['pairs']} identical"


def _soak_cell(ep: dict[str, Any]) -> str:
    s = ep.get("soak")
    if not s:
        return "—"
    if s.get("reuse") is None:
        return f"not reported ({s.get('passed') or 0}/{s.get('turns') or 0} turns ok)"
    return f"{s['reuse'] * 100:.0f} % of prompt tokens over {s.get('passed')}/{s.get('turns')} turns"


def _level_cell(ep: dict[str, Any], conc: int, what: str) -> str:
    lv = next((x for x in ep.get("bench") or [] if x.get("concurrency") == conc), None)
    if lv is None:
        return "—"
    if "error" in lv:
        return f"error: {_short(lv['error'], 40)}"
    if what == "ttft":
        v = lv["ttft_ms"]["p50"]
        return "—" if v is None else f"{v:.0f} ms"
    if what == "itl":
        v = lv["itl_ms"]["p50"]
        return "—" if v is None else f"{v:.1f} ms"
    if what == "cost":
        v = lv.get("cost_per_m_output_usd")
        return "—" if v is None else f"${v:.2f}"
    return f"{lv['output_throughput']:.1f}"


def _engine_cell(ep: dict[str, Any]) -> str:
    if ep["error"]:
        return f"unreachable: {_short(ep['error'], 50)}"
    eng = ep.get("engine") or {}
    return " ".join(x for x in (eng.get("kind"), eng.get("version")) if x) or "unknown"


def table_rows(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the comparison table: one column per endpoint, the seed's words beside."""
    eps = result["endpoints"]
    header = ["measure", "the seed says", *(ep["name"] for ep in eps)]
    rows: list[list[str]] = [
        ["engine", "", *(_engine_cell(ep) for ep in eps)],
        ["model", "", *((ep["model"] or "—") for ep in eps)],
        ["tool-call checks passed", SEED["stability"], *(interval_text(_pool(ep)) for ep in eps)],
    ]
    for name in result["config"]["checks"]:
        rows.append([name, "", *(check_cell(ep["checks"].get(name)) for ep in eps)])
    rows.append(["Harmony leaks per 1,000 turns", SEED["leaks"], *(_leak_cell(ep) for ep in eps)])
    rows.append(["streamed = non-streamed (greedy)", "", *(_agree_cell(ep) for ep in eps)])
    rows.append(["prefix-cache reuse, multi-turn", "", *(_soak_cell(ep) for ep in eps)])
    rows.append(["greedy output, cold vs cached prefix", SEED["chunked-prefill"], *(_cold_text(ep) for ep in eps)])
    levels = result["config"]["concurrency"]
    if levels:
        rows.append(["TTFT p50 at concurrency 1", SEED["ttft"] if 1 in levels else "",
                     *(_level_cell(ep, 1, "ttft") for ep in eps)])
        rows.append(["ITL p50 at concurrency 1", "", *(_level_cell(ep, 1, "itl") for ep in eps)])
        for i, conc in enumerate(levels):
            rows.append([f"output tok/s at concurrency {conc}", SEED["throughput"] if i == len(levels) - 1 else "",
                         *(_level_cell(ep, conc, "tput") for ep in eps)])
        price = result["config"]["price_per_hour"]
        if price is not None:
            rows.append([f"$/M output tokens at ${price:g}/h, concurrency {levels[-1]}", "",
                         *(_level_cell(ep, levels[-1], "cost") for ep in eps)])
    rows.append(["conformance", "", *(ep["conformance"] + (f": {', '.join(ep['failed_checks'])}"
                                                           if ep["failed_checks"] else "") for ep in eps)])
    return header, rows


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(result: dict[str, Any]) -> str:
    header, rows = table_rows(result)
    lines = ["| " + " | ".join(_md_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    lines.append("")
    lines.append(f"Success rates with 95 % Wilson intervals over {result['runs']} run(s)"
                 + (" (each check repeated until its failure interval leaves out 0 % or 10 %: enough to tell a "
                    "clean check from a 10 % fault, not to measure the fault's rate, which --repeat N does)"
                    if result["config"]["repeat"] is None else "")
                 + "; after a rate, the failure shape seen most and the raw replay's verdict.")
    lines.append("")
    lines.append("| the seed's claim | measured | verdict |")
    lines.append("|---|---|---|")
    for c in result["claims"]:
        lines.append(f"| {_md_cell(c['seed'])} | {_md_cell(c['measured'])} | {_md_cell(c['verdict'])} |")
    replays = replay_rows(result)
    if replays:
        lines += ["", "Model or parser? Failed runs replayed through each engine's raw path:", "",
                  "| endpoint | check | shape | verdict | why |", "|---|---|---|---|---|"]
        lines += ["| " + " | ".join(_md_cell(x) for x in r) + " |" for r in replays]
    return "\n".join(lines) + "\n"


def replay_rows(result: dict[str, Any]) -> list[list[str]]:
    rows = []
    for ep in result["endpoints"]:
        for name, cell in ep["checks"].items():
            shape = next(iter(cell["shapes"]), "—")
            for r in cell["replays"]:
                rows.append([ep["name"], name, shape, r["verdict"], _short(r["why"], 160)])
    return rows


def text(result: dict[str, Any]) -> str:
    """The table for a terminal: one block per measure, the endpoints under it."""
    header, rows = table_rows(result)
    names = header[2:]
    width = max(len(n) for n in names) if names else 0
    out = []
    for row in rows:
        measure, seed, cells = row[0], row[1], row[2:]
        out.append(measure + (f"   (seed: {seed})" if seed else ""))
        for name, cell in zip(names, cells):
            out.append(f"  {name:<{width}}  {cell}")
    out.append("")
    out.append("claims of the seed:")
    for c in result["claims"]:
        out.append(f"  {c['seed']}")
        out.append(f"    measured: {c['measured']}")
        out.append(f"    verdict:  {c['verdict']}")
    replays = replay_rows(result)
    if replays:
        out.append("")
        out.append("model or parser? (raw replays)")
        for ep, check, shape, verdict, why in replays:
            out.append(f"  {ep} {check} [{shape}]: {verdict} — {why}")
    return "\n".join(out)


# ---------------------------------------------------------------------------------- schema

_RATE = {"type": "object", "required": ["k", "n", "rate", "ci95"],
         "properties": {"k": {"type": "integer", "minimum": 0}, "n": {"type": "integer", "minimum": 0},
                        "rate": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
                        "ci95": {"type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1},
                                 "minItems": 2, "maxItems": 2}}}
_CELL = {"type": "object",
         "required": ["pass", "fail", "unsupported", "skip", "success", "failure", "decided", "shapes", "replays"],
         "properties": {"success": _RATE, "failure": _RATE, "decided": {"type": "boolean"},
                        "shapes": {"type": "object", "additionalProperties": {"type": "integer"}},
                        "replays": {"type": "array", "items": {"type": "object", "required": ["verdict", "why"]}}}}
RESULT_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "gpt-oss-console compare result",
    "type": "object",
    "required": ["schema", "started_at", "finished_at", "config", "runs", "endpoints", "claims", "exit_code"],
    "properties": {
        "schema": {"const": "gpt-oss-console/compare-result/1"},
        "runs": {"type": "integer", "minimum": 0},
        "exit_code": {"enum": [0, 1, 3]},
        "endpoints": {"type": "array", "minItems": 1, "items": {
            "type": "object",
            "required": ["name", "base_url", "api_key", "model", "engine", "error", "checks", "leaks", "soak",
                         "agreement", "cold_cached", "bench", "conformance"],
            "properties": {
                "api_key": {"type": ["string", "null"]},
                "checks": {"type": "object", "additionalProperties": _CELL},
                "conformance": {"enum": ["pass", "fail", "unreachable"]},
            }}},
        "claims": {"type": "array", "items": {"type": "object", "required": ["claim", "seed", "measured", "verdict"]}},
    },
}


def validate(result: dict[str, Any]) -> None:
    import jsonschema

    jsonschema.validate(result, RESULT_SCHEMA, cls=jsonschema.Draft202012Validator)
