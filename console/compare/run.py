"""Run the bake-off: the same measurements on every endpoint, interleaved.

Order of work (``CompareRunner.run``):
1. reach every endpoint: ``/v1/models`` and which engine it is (``console.smoke.replay.probe_engine``);
2. the smoke checks, run after run: within a run each check goes to every endpoint in turn
   before the next check starts, so a noisy box (or a cache warming up) affects all alike.
   With ``repeat=None`` (auto) a check stops once its failure rate's interval tells 0 % from
   10 % on that endpoint (``stats.Rate.decided``), up to ``max_repeat`` runs;
3. prefix-cache reuse over one multi-turn tool conversation (the smoke soak, cached tokens as
   the server reports them);
4. streamed and non-streamed answers to the same greedy prompts, compared;
5. greedy output with a cold prefix, then the same request with the prefix cached;
6. the bench (``console.bench.run.run_bench``, one level at a time, endpoints in turn).

Events go to ``on_event`` as they happen (CLI progress, TUI table); the result is a dict
(``report.RESULT_SCHEMA``).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from console.compare.endpoints import Named
from console.compare.report import SCHEMA_ID  # noqa: F401 (the result's schema lives with the result)
from console.compare.stats import Rate
from console.errors import ConsoleError
from console.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_UNAVAILABLE

AGREEMENT_PROMPTS = (
    ("What is the weather in Paris?", ["get_weather"]),
    ("Reply with one short sentence: what is 2+2?", []),
    ("What is the weather in Tokyo?", ["get_weather"]),
    ("Name the three primary colours, comma-separated.", []),
    ("Compute (17+25)*3 with the calculator.", ["calculator"]),
)
COLD_QUESTION = "\n\nIn one short sentence: what is the text above about?"
_WORDS = ("river", "stone", "garden", "copper", "window", "lantern", "harbor", "meadow", "signal", "orbit",
          "canvas", "thunder", "velvet", "marble", "falcon", "prism", "anchor", "ember", "glacier", "violin")


@dataclass
class CompareConfig:
    endpoints: list[Named]
    only: list[str] | None = None
    repeat: int | None = None  # None: auto, until each interval is tight enough
    max_repeat: int = 100
    soak: int = 10
    agreement: int = 5
    prefix_tokens: int = 9000
    concurrency: list[int] = field(default_factory=lambda: [1, 8])
    requests: int | None = None
    input_len: int = 1024
    output_len: int = 256
    bench: bool = True
    price_per_hour: float | None = None
    max_tokens: int = 2048
    temperature: float | None = None
    reasoning_effort: str | None = "low"
    replays: int = 1
    timeout_s: float = 120.0
    command: list[str] | None = None  # the command line as run (keys are never on it)

    def checks(self) -> list[str]:
        from console.compare.options import NOT_COMPARED
        from console.smoke.checks import CHECKS

        return [c for c in CHECKS if c not in NOT_COMPARED and (not self.only or c in self.only)]


# ---------------------------------------------------------------------------------- events


@dataclass(frozen=True)
class PhaseStarted:
    phase: str  # probe | checks | soak | agreement | cold-cached | bench
    detail: str = ""


@dataclass(frozen=True)
class CheckRun:
    endpoint: str
    check: str
    run: int
    status: str
    reason: str


@dataclass(frozen=True)
class RunDone:
    run: int
    undecided: int  # (endpoint, check) cells still running


@dataclass(frozen=True)
class MeasureDone:
    endpoint: str
    measure: str  # soak | agreement | cold-cached | bench:<concurrency>
    text: str


@dataclass(frozen=True)
class EndpointDown:
    endpoint: str
    message: str


CompareEvent = PhaseStarted | CheckRun | RunDone | MeasureDone | EndpointDown


# ---------------------------------------------------------------------------------- state


@dataclass
class Cell:
    """One check on one endpoint, over every run."""

    counts: Counter = field(default_factory=Counter)
    shapes: Counter = field(default_factory=Counter)
    replays: list[dict[str, Any]] = field(default_factory=list)
    first_failure: str | None = None
    last_reason: str = ""

    @property
    def failures(self) -> Rate:
        return Rate(self.counts["fail"], self.counts["pass"] + self.counts["fail"])

    @property
    def runs(self) -> int:
        return sum(self.counts.values())

    def decided(self) -> bool:
        rate = self.failures
        if rate.n == 0:  # only unsupported/skipped: nothing more to learn by repeating
            return self.runs > 0
        return rate.decided()

    def to_dict(self) -> dict[str, Any]:
        failures = self.failures
        return {"pass": self.counts["pass"], "fail": self.counts["fail"],
                "unsupported": self.counts["unsupported"], "skip": self.counts["skip"],
                "success": Rate(failures.n - failures.k, failures.n).to_dict(), "failure": failures.to_dict(),
                "decided": self.decided(), "shapes": dict(self.shapes.most_common()),
                "first_failure": self.first_failure, "last_reason": self.last_reason, "replays": self.replays}


@dataclass
class EndpointState:
    named: Named
    model: str | None = None
    max_model_len: int | None = None
    engine: dict[str, Any] | None = None
    error: str | None = None
    cells: dict[str, Cell] = field(default_factory=dict)
    turns: int = 0
    leaky_turns: int = 0
    soak: dict[str, Any] | None = None
    agreement: dict[str, Any] | None = None
    cold_cached: dict[str, Any] | None = None
    bench: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.named.name

    @property
    def key(self) -> str | None:
        k = self.named.endpoint.api_key
        return k.reveal() if k else None

    @property
    def url(self) -> str:
        return self.named.endpoint.base_url


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class CompareRunner:
    def __init__(self, config: CompareConfig, on_event: Callable[[CompareEvent], Any] | None = None,
                 cancel: threading.Event | None = None):
        self.config = config
        self.emit = on_event or (lambda e: None)
        self.cancel = cancel  # set: the bench's thread stops too (console.cancel)
        self.states = [EndpointState(n, model=n.endpoint.model) for n in config.endpoints]
        self.runs = 0

    @property
    def live(self) -> list[EndpointState]:
        return [s for s in self.states if s.error is None]

    def _down(self, st: EndpointState, message: str) -> None:
        if st.error is None:
            st.error = message
            self.emit(EndpointDown(st.name, message))

    async def run(self) -> dict[str, Any]:
        started = _now()
        c = self.config
        await self._probe()
        await self._checks()
        if c.soak > 0:
            await self._soak()
        if c.agreement > 0:
            await self._agreement()
        if c.prefix_tokens > 0:
            await self._cold_cached()
        if c.bench:
            await self._bench()
        from console.compare.report import build_result

        return build_result(self, started=started, finished=_now())

    def exit_code(self) -> int:
        if any(s.error for s in self.states):
            return EXIT_UNAVAILABLE
        failed = any(cell.counts["fail"] for s in self.states for cell in s.cells.values())
        return EXIT_FAILED if failed else EXIT_OK

    # ------------------------------------------------------------------ 1. reach

    async def _probe(self) -> None:
        from console.server.client import AsyncServerClient, AuthRejected
        from console.smoke.replay import probe

        self.emit(PhaseStarted("probe", ", ".join(s.name for s in self.states)))
        for st in self.states:
            try:
                async with AsyncServerClient(st.url, st.key, timeout=min(self.config.timeout_s, 15)) as client:
                    models = await client.models()
                    if not models:
                        raise ConsoleError("/v1/models lists no models")
                    ids = [m["id"] for m in models]
                    if st.model and st.model not in ids:
                        raise ConsoleError(f"model {st.model!r} is not served; {st.url} lists {', '.join(ids)}")
                    st.model = st.model or ids[0]
                    card = next(m for m in models if m["id"] == st.model)
                    st.max_model_len = card.get("max_model_len") or card.get("context_length")
                st.engine = (await probe(st.url, st.key, models, timeout_s=min(self.config.timeout_s, 15))).to_dict()
            except AuthRejected as e:
                self._down(st, e.message)
            except ConsoleError as e:
                self._down(st, e.message + (f" — {e.hint}" if e.hint else ""))

    # ------------------------------------------------------------------ 2. the checks

    def _undecided(self, st: EndpointState) -> list[str]:
        checks = self.config.checks()
        if self.config.repeat is not None:
            return checks
        return [c for c in checks if c not in st.cells or not st.cells[c].decided()]

    async def _checks(self) -> None:
        from console.smoke.runner import SmokeConfig, SmokeRunner

        c = self.config
        limit = c.repeat if c.repeat is not None else c.max_repeat
        self.emit(PhaseStarted("checks", f"{len(c.checks())} check(s), "
                                         + (f"{c.repeat} run(s)" if c.repeat else f"until decided, ≤ {c.max_repeat} runs")))
        for st in self.live:
            st.cells = {name: Cell() for name in c.checks()}
        while self.runs < limit:
            todo = {st.name: self._undecided(st) for st in self.live}
            todo = {k: v for k, v in todo.items() if v}
            if not todo:
                break
            self.runs += 1
            runners: dict[str, tuple[EndpointState, Any, Any]] = {}  # (state, its checks as they run, runner)
            for st in self.live:
                if st.name not in todo:
                    continue
                may_replay = {n for n in todo[st.name] if len(st.cells[n].replays) < c.replays}
                cfg = SmokeConfig(base_url=st.url, api_key=st.key, model=st.model, soak=0, only=todo[st.name],
                                  max_tokens=c.max_tokens, reasoning_effort=c.reasoning_effort,
                                  temperature=c.temperature, timeout_s=c.timeout_s, replay=bool(may_replay),
                                  replay_only=may_replay)
                runner = SmokeRunner(cfg)
                runners[st.name] = (st, runner.run().__aiter__(), runner)
            # Lockstep: each endpoint's next check, in turn, until every run is through.
            pending = dict(runners)
            while pending:
                for name in list(pending):
                    st, gen, runner = pending[name]
                    try:
                        r = await gen.__anext__()
                    except StopAsyncIteration:
                        del pending[name]
                        continue
                    self._record(st, r)
            for st, _, runner in runners.values():
                turns, leaky = runner.turns
                st.turns += turns
                st.leaky_turns += leaky
                if runner.unreachable is not None:
                    self._down(st, runner.unreachable.message)
            undecided = sum(len(self._undecided(st)) for st in self.live)
            self.emit(RunDone(self.runs, undecided if c.repeat is None else 0))

    def _record(self, st: EndpointState, r: Any) -> None:
        if r.name == "models":
            if r.status == "fail":
                self._down(st, r.reason)
            return
        cell = st.cells.get(r.name)
        if cell is None:
            return
        cell.counts[r.status] += 1
        cell.last_reason = r.reason
        if r.status in ("fail", "unsupported"):
            for h in (r.details.get("shapes") or [])[:1]:
                cell.shapes[h["shape"]] += 1
        if r.status == "fail":
            cell.first_failure = cell.first_failure or r.reason
            if r.details.get("replay"):
                v = dict(r.details["replay"])
                raw = v.get("raw_text") or ""
                v["raw_text"] = raw if len(raw) <= 2000 else raw[:2000] + "…"
                cell.replays.append({"run": self.runs, **v})
        self.emit(CheckRun(st.name, r.name, self.runs, r.status, r.reason))

    # ------------------------------------------------------------------ 3. multi-turn cache reuse

    async def _soak(self) -> None:
        from console.smoke.runner import SmokeConfig, SmokeRunner

        c = self.config
        self.emit(PhaseStarted("soak", f"{c.soak} turns of one conversation per endpoint"))
        for st in self.live:
            runner = SmokeRunner(SmokeConfig(base_url=st.url, api_key=st.key, model=st.model, soak=c.soak,
                                             only=["soak"], max_tokens=c.max_tokens, timeout_s=c.timeout_s,
                                             reasoning_effort=c.reasoning_effort, temperature=c.temperature,
                                             replay=False))
            result = None
            async for r in runner.run():
                if r.name == "soak":
                    result = r
            turns, leaky = runner.turns
            st.turns += turns
            st.leaky_turns += leaky
            d = dict(result.details) if result else {}
            reuse = None
            if d.get("prompt_tokens"):
                reuse = d.get("cached_tokens", 0) / d["prompt_tokens"]
            st.soak = {"status": result.status if result else "skip", "reason": result.reason if result else "",
                       "turns": d.get("turns"), "passed": d.get("passed"), "streamed": d.get("streamed"),
                       "reported": "cached_tokens" in d, "cached_turns": d.get("cached_turns"),
                       "cached_tokens": d.get("cached_tokens"), "prompt_tokens": d.get("prompt_tokens"),
                       "reuse": reuse}
            text = (f"{reuse * 100:.0f} % of prompt tokens cached over {d.get('passed')} turns" if reuse is not None
                    else "the server does not report cached_tokens")
            self.emit(MeasureDone(st.name, "soak", text))

    # ------------------------------------------------------------------ 4. streamed vs whole

    async def _agreement(self) -> None:
        c = self.config
        prompts = [AGREEMENT_PROMPTS[i % len(AGREEMENT_PROMPTS)] for i in range(c.agreement)]
        self.emit(PhaseStarted("agreement", f"{len(prompts)} greedy prompt(s), streamed and not"))
        for st in self.live:
            st.agreement = {"pairs": 0, "agree": 0, "mismatches": []}
        for prompt, tools in prompts:
            for st in self.live:
                answers = []
                for stream in (False, True):
                    answers.append(await self._one_turn(st, prompt, tools=tools, stream=stream))
                a = st.agreement
                a["pairs"] += 1
                same, why = _same_answer(*answers)
                a["agree"] += same
                if not same and len(a["mismatches"]) < 3:
                    a["mismatches"].append(f"{prompt!r}: {why}")
        for st in self.live:
            a = st.agreement
            a.update(Rate(a["agree"], a["pairs"]).to_dict())
            self.emit(MeasureDone(st.name, "agreement", f"{a['agree']}/{a['pairs']} identical"))

    async def _one_turn(self, st: EndpointState, prompt: str, *, tools: list[str], stream: bool,
                        max_tokens: int | None = None) -> Any:
        """One greedy chat turn through the chat core; counted for the leak rate."""
        from console.chat.session import ChatSession, ChatSettings
        from console.chat.tools import smoke_registry

        c = self.config
        s = ChatSession(ChatSettings(base_url=st.url, api_key=st.key, model=st.model, stream=stream, tools=tools,
                                     max_rounds=0, temperature=0.0, max_tokens=max_tokens or c.max_tokens,
                                     reasoning_effort=c.reasoning_effort, timeout_s=c.timeout_s),
                        smoke_registry())
        try:
            async for _ in s.run_turn(prompt):
                pass
        finally:
            await s.aclose()
        turn = s.turns[-1]
        st.turns += 1
        st.leaky_turns += any(f.code == "harmony-leak" for f in turn.findings)
        return turn

    # ------------------------------------------------------------------ 5. cold vs cached prefix

    async def _cold_cached(self) -> None:
        c = self.config
        self.emit(PhaseStarted("cold-cached", f"a {c.prefix_tokens}-word prefix, cold then cached, greedy"))
        for st in self.live:
            words = c.prefix_tokens
            if st.max_model_len:  # ~1.3 tokens a word, room for the question and the answer
                words = max(16, min(words, int((st.max_model_len - 512) / 1.4)))
            rng = random.Random(f"{st.name}-{_now()}")  # a fresh prefix per run: cold for certain
            nonce = f"{rng.getrandbits(64):016x}"
            text = f"Reference {nonce}. " + " ".join(rng.choice(_WORDS) for _ in range(words)) + COLD_QUESTION
            results = []
            for _ in range(2):
                turn = await self._one_turn(st, text, tools=[], stream=False, max_tokens=64)
                results.append(turn)
            cold, warm = results
            out = {"words": words, "identical": None, "cold_cached_tokens": _cached(cold),
                   "warm_cached_tokens": _cached(warm), "prompt_tokens": _prompt_tokens(warm), "error": None}
            err = cold.error or warm.error
            if err:
                out["error"] = err.message
                text_out = f"error: {err.message}"
            else:
                same, why = _same_answer(cold, warm, text_only=True)
                out["identical"] = same
                out["difference"] = None if same else why
                text_out = "identical" if same else f"different: {why}"
            st.cold_cached = out
            self.emit(MeasureDone(st.name, "cold-cached", text_out))

    # ------------------------------------------------------------------ 6. bench

    async def _bench(self) -> None:
        from console.bench.run import BenchConfig, run_bench

        c = self.config
        self.emit(PhaseStarted("bench", f"levels {', '.join(map(str, c.concurrency))}, endpoints in turn"))
        warmed: set[str] = set()
        for conc in c.concurrency:
            for st in self.live:
                cfg = BenchConfig(base_url=st.url, api_key=st.key, model=st.model, concurrency=[conc],
                                  input_len=c.input_len, output_len=c.output_len, requests=c.requests,
                                  price_per_hour=c.price_per_hour, warmup=0 if st.name in warmed else 1)
                try:
                    result = await asyncio.to_thread(run_bench, cfg, None, self.cancel)
                except ConsoleError as e:
                    st.bench.append({"concurrency": conc, "error": e.message})
                    self.emit(MeasureDone(st.name, f"bench:{conc}", f"error: {e.message}"))
                    continue
                warmed.add(st.name)
                level = result["levels"][0]
                st.bench.append(_level_summary(level))
                self.emit(MeasureDone(st.name, f"bench:{conc}",
                                      f"{level['output_throughput']:.1f} tok/s, TTFT p50 "
                                      f"{_ms(level['ttft_ms'].get('p50'))}"))


def _level_summary(level: dict[str, Any]) -> dict[str, Any]:
    keep = ("concurrency", "requests", "completed", "failed", "output_throughput", "request_throughput",
            "cost_per_m_output_usd")
    out = {k: level.get(k) for k in keep}
    for name in ("ttft_ms", "ttft_any_ms", "itl_ms", "tpot_ms", "e2e_ms"):
        d = level.get(name) or {}
        out[name] = {"p50": d.get("p50"), "p99": d.get("p99"), "n": d.get("n")}
    return out


def _ms(v: float | None) -> str:
    return "—" if v is None else f"{v:.0f} ms"


def _cached(turn: Any) -> int | None:
    st = turn.stats
    return st.cached_tokens if st else None


def _prompt_tokens(turn: Any) -> int | None:
    st = turn.stats
    return st.prompt_tokens if st else None


def _norm(text: str) -> str:
    return " ".join((text or "").split())


def _calls(turn: Any) -> list[tuple[str, Any]]:
    import json

    out = []
    for ex in turn.exchanges[:1]:
        for call in ex.tool_calls:
            try:
                args = json.loads(call["arguments"]) if call["arguments"].strip() else {}
            except ValueError:
                args = call["arguments"]
            out.append((call["name"], args))
    return out


def _same_answer(a: Any, b: Any, *, text_only: bool = False) -> tuple[bool, str]:
    """Whether two greedy answers are the same: calls (names and parsed arguments), then content."""
    if a.error or b.error:
        return False, f"an error: {(a.error or b.error).message}"
    if not text_only:
        ca, cb = _calls(a), _calls(b)
        if ca != cb:
            return False, f"calls {ca} vs {cb}"
        if ca:
            return True, ""
    ta, tb = _norm(a.content), _norm(b.content)
    if ta != tb:
        i = next((i for i, (x, y) in enumerate(zip(ta, tb)) if x != y), min(len(ta), len(tb)))
        return False, f"content differs from character {i}: {ta[i:i + 40]!r} vs {tb[i:i + 40]!r}"
    return True, ""
