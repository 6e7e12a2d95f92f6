"""The conformance smoke suite: does chat and tool calling work on *this* server?

``run_smoke(config)`` is an async iterator of ``CheckResult`` as each check finishes,
so the TUI can fill a live table and the CLI can print lines as they come. Each
check drives the chat core (``ChatSession``), so what the suite judges is exactly
what the chat pane and its inspector see.

Verdicts:
- ``pass`` / ``fail``: the feature was exercised and worked / did not (reason says how).
- ``unsupported``: the server refused the feature (an HTTP error on the request), in its own words.
- ``skip``: not applicable (e.g. no reasoning expected from a non-gpt-oss model) or not run.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable

from console.chat import events as ev, import_client_libraries
from console.chat.session import ChatSession, ChatSettings, TurnRecord
from console.chat.tools import ToolRegistry, smoke_registry
from console.exit_codes import EXIT_UNAVAILABLE, EXIT_USAGE
from console.errors import ConsoleError
from console.secret import Secret
from console.smoke import shapes as sh
from console.smoke.checks import CHECKS  # re-exported: report and UI read it from here

PASS, FAIL, UNSUPPORTED, SKIP = "pass", "fail", "unsupported", "skip"


WEATHER_PROMPT = "What is the weather in Paris?"  # plain words: small models lose the thread with more
PARALLEL_PROMPT = ("What is the weather in Paris and in Tokyo? Call get_weather once for each city, "
                   "both calls at once.")
SOAK_CITIES = ("Paris", "Tokyo", "London", "Berlin", "Sydney", "Singapore", "New York", "San Francisco")
PATIENT_PROMPT = "Get the MRI report of patient 4711."
CITIES_PROMPT = "List the cities you have weather data for."
NOT_NEEDED_PROMPT = "Reply with one short sentence: what is the capital of France?"
NO_TOOLS_PROMPT = "Use your tools to look up the weather in Paris, then tell me about it."
TOOL_CHECK_TOOLS = ["get_weather", "calculator", "get_time"]
# Checks whose failure is worth a raw replay ("model or parser?"): one request, a call due or not.
REPLAYABLE = ("plain-chat", "streaming", "tool-auto", "tool-required", "tool-named", "parallel-calls", "multi-turn",
              "streaming-tool-call", "dotted-tool-name", "empty-arguments", "tool-not-needed", "no-tools-commentary")


@dataclass
class SmokeConfig:
    base_url: str
    api_key: Secret | str | None = None  # revealed only in the HTTP header
    model: str | None = None
    soak: int = 100
    only: list[str] | None = None  # check names; None = all
    max_ttft_s: float = 30.0  # streaming check fails when the first token takes longer
    max_tokens: int | None = 2048
    reasoning_effort: str | None = "low"
    temperature: float | None = None  # None: the server's default
    timeout_s: float = 120.0
    replay: bool = True  # a failed check is replayed through the engine's raw path (model or parser?)
    replay_only: set[str] | None = None  # the checks that may be replayed (None: all)


@dataclass
class CheckResult:
    name: str
    status: str  # pass | fail | unsupported | skip
    reason: str
    latency_s: float
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status != FAIL

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ServerUnreachable(ConsoleError):
    pass


Progress = Callable[[str, int, int], Any]


@dataclass
class _Seen:
    """Everything the checks saw, for the checks that judge the whole run."""

    calls: list[tuple[str, ev.ToolCallRequested]] = field(default_factory=list)
    leaks: list[tuple[str, ev.Finding]] = field(default_factory=list)
    turns: dict[str, TurnRecord] = field(default_factory=dict)  # the first turn of each check
    turn_count: int = 0  # every chat turn of the run
    leaky_turns: int = 0  # turns with a Harmony leak anywhere
    reasoning: list[str] = field(default_factory=list)  # checks whose answer carried reasoning
    answered: list[str] = field(default_factory=list)  # checks that got any answer at all
    streamed_tools_ok: bool | None = None


class SmokeRunner:
    def __init__(self, config: SmokeConfig, registry: ToolRegistry | None = None, progress: Progress | None = None):
        self.config = config
        self.registry = registry or smoke_registry()
        self.progress = progress
        self.model: str | None = config.model
        self.unreachable: ConsoleError | None = None  # set when the server cannot be reached (CLI exit 3)
        self.blocked: str | None = None  # why the remaining checks were not run
        self.results: list[CheckResult] = []
        self._seen = _Seen()
        # What each check offered and asked for, so a failure can be named (console.smoke.shapes).
        self._ctx: dict[str, dict[str, Any]] = {}
        self._replayer: Any = None

    @property
    def turns(self) -> tuple[int, int]:
        """(chat turns made, turns with a Harmony leak) so far."""
        return self._seen.turn_count, self._seen.leaky_turns

    def selected(self) -> list[str]:
        only = self.config.only
        if not only:
            return list(CHECKS)
        unknown = [n for n in only if n not in CHECKS]
        if unknown:
            raise ConsoleError(f"unknown check(s): {', '.join(unknown)}", f"checks: {', '.join(CHECKS)}", exit_code=EXIT_USAGE)
        return [n for n in CHECKS if n in only]

    async def run(self) -> AsyncIterator[CheckResult]:
        names = self.selected()
        if "models" not in names:
            names = ["models", *names]  # the model id is needed by every other check
        for name in names:
            t0 = time.monotonic()
            if self.blocked is not None:
                r = CheckResult(name, SKIP, f"not run: {self.blocked}", 0.0)
            else:
                try:
                    r = await getattr(self, "check_" + name.replace("-", "_"))()
                except ServerUnreachable as e:
                    self.unreachable = e
                    self.blocked = "the server is unreachable"
                    r = CheckResult(name, FAIL, e.message, 0.0, {"hint": e.hint})
                except ConsoleError as e:
                    r = CheckResult(name, FAIL, e.message + (f" — {e.hint}" if e.hint else ""), 0.0, {"hint": e.hint})
                allowed = self.config.replay_only is None or name in self.config.replay_only
                if r.status == FAIL and self.config.replay and allowed and name in REPLAYABLE and r.details.get("request"):
                    r.details["replay"] = await self._replay(name, r)
                    _name_raw_shape(r)
                r.latency_s = time.monotonic() - t0
                if name == "models" and r.status == FAIL and self.blocked is None:
                    self.blocked = "the models check failed"
            self.results.append(r)
            yield r

    # ------------------------------------------------------------------ helpers

    def _session(self, **kw: Any) -> ChatSession:
        c = self.config
        base = dict(base_url=c.base_url, api_key=c.api_key, model=self.model, reasoning_effort=c.reasoning_effort,
                    max_tokens=c.max_tokens, timeout_s=c.timeout_s, tools=["get_weather"], max_rounds=0,
                    temperature=c.temperature,
                    stream=False)
        base.update(kw)
        return ChatSession(ChatSettings(**base), self.registry)

    async def _turn(self, check: str, session: ChatSession, text: str, **overrides: Any) -> TurnRecord:
        async for _ in session.run_turn(text, **overrides):
            pass
        turn = session.turns[-1]
        self._record(check, turn)
        return turn

    def _record(self, check: str, turn: TurnRecord) -> None:
        seen = self._seen
        seen.turns.setdefault(check, turn)
        seen.turn_count += 1
        seen.leaky_turns += any(isinstance(e, ev.Finding) and e.code == "harmony-leak" for e in turn.events)
        for e in turn.events:
            if isinstance(e, ev.ToolCallRequested):
                seen.calls.append((check, e))
            elif isinstance(e, ev.Finding) and e.code == "harmony-leak":
                seen.leaks.append((check, e))
        if any(x.reasoning for x in turn.exchanges):
            seen.reasoning.append(check)
        if any(x.content or x.reasoning or x.tool_calls for x in turn.exchanges):
            seen.answered.append(check)

    @staticmethod
    def _details(turn: TurnRecord) -> dict[str, Any]:
        st = turn.stats
        d: dict[str, Any] = {"findings": [f"{f.code}: {f.message}" for f in turn.findings]}
        if st:
            d.update(ttft_s=st.ttft_any_s, ttft_content_s=st.ttft_content_s, completion_tokens=st.completion_tokens,
                     tokens_per_s=st.tokens_per_s, cached_tokens=st.cached_tokens, finish_reason=st.finish_reason)
        if turn.exchanges:
            d["request"] = turn.exchanges[0].request
        return d

    @staticmethod
    def _refused(turn: TurnRecord, feature: bool) -> CheckResult | None:
        """A request the server refused: unsupported for optional features, a failure otherwise."""
        err = turn.error
        if err is None:
            return None
        answered = any(x.chunks for x in turn.exchanges)
        words = _short(err.message)
        parse_error = any(h.shape.code == "harmony-parse-error"
                          for h in sh.classify(sh.Answer(error=err.message, status=err.status)))
        if parse_error and err.status and err.status >= 500:
            # The engine's own Harmony parser failed (vllm issue 22519): a failure, not a refusal.
            return CheckResult("", FAIL, f"the engine failed parsing the model's output: {words}", 0.0)
        if feature and err.status and err.status >= 400 and not answered:
            return CheckResult("", UNSUPPORTED, f"the server refused it: {words}", 0.0)
        f = next((f for f in turn.findings if f.severity == "error"), None)
        if f is not None:  # the inspector's finding names the problem more precisely than the exception
            return CheckResult("", FAIL, f"{f.code}: {_short(f.message)}", 0.0)
        where = f" (in round {err.round + 1}, after tool results)" if err.round else ""
        return CheckResult("", FAIL, words + where + (f" — {err.hint}" if err.hint else ""), 0.0)

    @staticmethod
    def _first_error(turn: TurnRecord, round: int | None = None) -> ev.Finding | None:
        return next((f for f in turn.findings if f.severity == "error" and (round is None or f.round == round)), None)

    def _calls(self, turn: TurnRecord, round: int = 0) -> list[ev.ToolCallRequested]:
        return [e for e in turn.events if isinstance(e, ev.ToolCallRequested) and e.round == round]

    def _expect(self, check: str, *, tools: list[str], due: str | None = None, choice: Any = "auto") -> None:
        """Note what ``check`` offers and which call its prompt makes due (for naming failures)."""
        tool = self.registry.get(due) if due else None
        params = list(((tool.parameters if tool else {}) or {}).get("properties") or {})
        self._ctx[check] = {"offered": list(tools), "due": due, "due_params": params, "tool_choice": choice}

    def shapes(self, check: str, turn: TurnRecord, round: int = 0) -> list[sh.Hit]:
        """The failure shapes ``turn`` shows, for a check whose expectations were noted."""
        ctx = self._ctx.get(check)
        if ctx is None:
            return []
        return sh.classify(sh.answer_from_turn(turn, round=round, **ctx))

    def _result(self, name: str, turn: TurnRecord, status: str, reason: str, round: int | None = None) -> CheckResult:
        details = self._details(turn)
        if turn.error:
            details["error"] = turn.error.message  # the server's full words; the reason is one line
        if round is None:
            round = turn.error.round if turn.error else 0
        if status in (FAIL, UNSUPPORTED):
            hits = self.shapes(name, turn, round)
            if hits:
                details["shapes"] = [h.to_dict() for h in hits]
                reason = f"{reason} [shape: {hits[0].shape.title}]"
        return CheckResult(name, status, reason, 0.0, details)

    async def _replay(self, name: str, result: CheckResult) -> dict[str, Any]:
        """Send the failed request again through the engine's raw path and say whose fault it is."""
        from console.smoke.replay import Replayer

        if self._replayer is None:
            c = self.config
            self._replayer = Replayer(c.base_url, c.api_key, self.model, timeout_s=c.timeout_s)
        ctx = self._ctx.get(name) or {}
        try:
            return (await self._replayer.replay(result.details["request"], ctx, result)).to_dict()
        except ConsoleError as e:
            return {"verdict": "raw-failed", "why": e.message}

    # ------------------------------------------------------------------ checks

    async def check_models(self) -> CheckResult:
        from console.server.client import AsyncServerClient, AuthRejected

        try:
            async with AsyncServerClient(self.config.base_url, self.config.api_key, timeout=min(self.config.timeout_s, 15)) as c:
                models = await c.models()
        except ConsoleError as e:
            if e.exit_code == EXIT_UNAVAILABLE and not isinstance(e, AuthRejected):
                raise ServerUnreachable(e.message, e.hint, exit_code=EXIT_UNAVAILABLE) from None
            raise
        ids = [m["id"] for m in models]
        if not ids:
            return CheckResult("models", FAIL, "/v1/models lists no models", 0.0)
        if self.model and self.model not in ids:
            return CheckResult("models", FAIL, f"model {self.model!r} is not served; the server lists: {', '.join(ids)}",
                               0.0, {"models": ids})
        self.model = self.model or ids[0]
        # imported now, on a thread, so the next check's latency is the server's, not the import's
        await asyncio.to_thread(import_client_libraries)

        card = next(m for m in models if m["id"] == self.model)
        ctx = card.get("max_model_len") or card.get("context_length")
        extra = f", context {ctx}" if ctx else ""
        return CheckResult("models", PASS, f"{len(ids)} model(s): {', '.join(ids)} — using {self.model}{extra}", 0.0,
                           {"models": ids, "model": self.model, "max_model_len": ctx})

    async def check_plain_chat(self) -> CheckResult:
        self._expect("plain-chat", tools=[])
        s = self._session(tools=[])
        turn = await self._turn("plain-chat", s, "Reply with one short sentence: what is 2+2?")
        await s.aclose()
        if (r := self._refused(turn, feature=False)):
            return self._result("plain-chat", turn, r.status, r.reason)
        if (f := self._first_error(turn)):
            return self._result("plain-chat", turn, FAIL, f"{f.code}: {f.message}")
        text = turn.content.strip()
        return self._result("plain-chat", turn, PASS, f"answered {_quote(text)}")

    async def check_streaming(self) -> CheckResult:
        self._expect("streaming", tools=[])
        s = self._session(tools=[], stream=True)
        turn = await self._turn("streaming", s, "Count from 1 to 10, separated by spaces.")
        await s.aclose()
        if (r := self._refused(turn, feature=False)):
            return self._result("streaming", turn, r.status, r.reason)
        if (f := self._first_error(turn)):
            return self._result("streaming", turn, FAIL, f"{f.code}: {f.message}")
        st = turn.stats
        ex = turn.exchanges[0]
        n = sum(1 for e in turn.events if isinstance(e, ev.ContentDelta))
        if st.ttft_any_s is not None and st.ttft_any_s > self.config.max_ttft_s:
            return self._result("streaming", turn, FAIL,
                                f"slow first token: {st.ttft_any_s:.2f} s (limit {self.config.max_ttft_s:g} s)")
        bits = [f"{n} content chunk(s)", f"first token {_ms(st.ttft_any_s)}"]
        if st.tokens_per_s:
            bits.append(f"{st.tokens_per_s:.0f} tok/s")
        if not ex.usage:
            bits.append("no usage in the stream")
        return self._result("streaming", turn, PASS, ", ".join(bits))

    async def _tool_check(self, name: str, prompt: str, *, choice: Any, stream: bool = False,
                          want: int = 1) -> tuple[CheckResult, TurnRecord | None]:
        self._expect(name, tools=TOOL_CHECK_TOOLS, due="get_weather", choice=choice)
        s = self._session(tool_choice=choice, stream=stream, tools=TOOL_CHECK_TOOLS,
                          parallel_tool_calls=True if want > 1 else None)
        turn = await self._turn(name, s, prompt)
        await s.aclose()
        if (r := self._refused(turn, feature=True)):
            return self._result(name, turn, r.status, r.reason), turn
        calls = self._calls(turn)
        if (f := self._first_error(turn, 0)) and f.code not in ("schema-violation",):
            return self._result(name, turn, FAIL, f"{f.code}: {f.message}"), turn
        if not calls:
            said = turn.content.strip()
            return self._result(name, turn, FAIL, "no tool call" + (f"; answered in text instead: {_quote(said)}" if said else "")), turn
        weather = [c for c in calls if c.name == "get_weather"]
        if not weather:
            return self._result(name, turn, FAIL, f"called {', '.join(c.name for c in calls)} instead of get_weather"), turn
        bad = [c for c in weather if c.problems]
        if bad:
            return self._result(name, turn, FAIL, f"get_weather arguments {bad[0].arguments_raw!r}: {bad[0].problems[0]}"), turn
        args = ", ".join(c.arguments_raw for c in weather)
        return self._result(name, turn, PASS, f"{len(weather)} get_weather call(s): {args}"), turn

    async def check_tool_auto(self) -> CheckResult:
        return (await self._tool_check("tool-auto", WEATHER_PROMPT, choice="auto"))[0]

    async def check_tool_required(self) -> CheckResult:
        return (await self._tool_check("tool-required", WEATHER_PROMPT, choice="required"))[0]

    async def check_tool_named(self) -> CheckResult:
        return (await self._tool_check("tool-named", WEATHER_PROMPT, choice="get_weather"))[0]

    async def check_streaming_tool_call(self) -> CheckResult:
        r, turn = await self._tool_check("streaming-tool-call", WEATHER_PROMPT, choice="auto", stream=True)
        self._seen.streamed_tools_ok = r.status == PASS
        return r

    async def check_parallel_calls(self) -> CheckResult:
        self._expect("parallel-calls", tools=["get_weather"], due="get_weather")
        s = self._session(tools=["get_weather"], parallel_tool_calls=True, max_rounds=2)
        turn = await self._turn("parallel-calls", s, PARALLEL_PROMPT)
        await s.aclose()
        if (r := self._refused(turn, feature=True)):
            return self._result("parallel-calls", turn, r.status, r.reason)
        if (f := self._first_error(turn, 0)):
            return self._result("parallel-calls", turn, FAIL, f"{f.code}: {f.message}")
        first = self._calls(turn, 0)
        every = [e for e in turn.events if isinstance(e, ev.ToolCallRequested)]
        if len(first) >= 2:
            ids = {c.call_id for c in first}
            if len(ids) != len(first):
                return self._result("parallel-calls", turn, FAIL, f"{len(first)} calls share call ids: {sorted(ids)}")
            return self._result("parallel-calls", turn, PASS,
                                f"{len(first)} calls in one response: {', '.join(c.arguments_raw for c in first)}")
        if len(every) >= 2:
            return self._result("parallel-calls", turn, UNSUPPORTED,
                                f"the model made its {len(every)} calls one per response (sequential), never two at once")
        if len(first) == 1:
            return self._result("parallel-calls", turn, FAIL, f"one call only ({first[0].arguments_raw}) for two cities")
        return self._result("parallel-calls", turn, FAIL, "no tool call" + (f"; answered {_quote(turn.content)}" if turn.content else ""))

    async def check_multi_turn(self) -> CheckResult:
        self._expect("multi-turn", tools=["get_weather"], due="get_weather")
        s = self._session(tools=["get_weather"], max_rounds=3)
        turn = await self._turn("multi-turn", s, WEATHER_PROMPT)
        if (r := self._refused(turn, feature=True)):
            await s.aclose()
            return self._result("multi-turn", turn, r.status, r.reason)
        results = [e for e in turn.events if isinstance(e, ev.ToolResult)]
        if not results:
            await s.aclose()
            return self._result("multi-turn", turn, FAIL, "no tool call, so no tool result to send back"
                                + (f"; answered {_quote(turn.content)}" if turn.content else ""))
        last = turn.exchanges[-1]
        if last.error and last.round > 0:  # the request carrying the tool result was refused
            await s.aclose()
            return self._result("multi-turn", turn, FAIL, f"after the tool result: {_short(last.error)}",
                                round=last.round)
        if (f := self._first_error(turn, last.round)):
            await s.aclose()
            return self._result("multi-turn", turn, FAIL, f"after the tool result: {f.code}: {f.message}",
                                round=last.round)
        if not last.content.strip():
            await s.aclose()
            if last.tool_calls:
                again = ", ".join(sorted({c["name"] for c in last.tool_calls}))
                why = f"the model kept calling tools ({again}) after {len(results)} result(s), up to the depth limit"
            else:
                why = f"an empty answer after the tool result (finish_reason {last.finish_reason!r})"
            return self._result("multi-turn", turn, FAIL, why)
        uses = any(w in last.content.lower() for w in ("18", "cloud", "partly", "62"))
        turn2 = await self._turn("multi-turn", s, "Thanks. And what about Tokyo?")
        await s.aclose()
        if turn2.error:
            return self._result("multi-turn", turn2, FAIL, f"second user turn failed: {turn2.error.message}")
        if (f := self._first_error(turn2)):
            return self._result("multi-turn", turn2, FAIL, f"second user turn: {f.code}: {f.message}")
        note = "uses the tool result" if uses else "does not quote the tool result"
        return self._result("multi-turn", turn, PASS,
                            f"answered after {len(results)} tool result(s) ({note}): {_quote(last.content)}; second turn ok")

    async def check_dotted_tool_name(self) -> CheckResult:
        # sglang PR 15140: SGLang cut "patient.get_report" to "get_report" and dropped the call.
        tools = ["get_weather", "patient.get_report"]
        self._expect("dotted-tool-name", tools=tools, due="patient.get_report")
        s = self._session(tools=tools)
        turn = await self._turn("dotted-tool-name", s, PATIENT_PROMPT)
        await s.aclose()
        if (r := self._refused(turn, feature=True)):
            return self._result("dotted-tool-name", turn, r.status, r.reason)
        calls = self._calls(turn)
        good = [c for c in calls if c.name == "patient.get_report"]
        if good and not good[0].problems:
            return self._result("dotted-tool-name", turn, PASS, f"patient.get_report called: {good[0].arguments_raw}")
        if good:
            return self._result("dotted-tool-name", turn, FAIL,
                                f"patient.get_report arguments {good[0].arguments_raw!r}: {good[0].problems[0]}")
        if calls:
            return self._result("dotted-tool-name", turn, FAIL,
                                f"called {', '.join(repr(c.name) for c in calls)} instead of 'patient.get_report'")
        return self._result("dotted-tool-name", turn, FAIL, "no call to patient.get_report" + self._instead(turn))

    async def check_empty_arguments(self) -> CheckResult:
        tools = ["get_weather", "list_cities"]
        self._expect("empty-arguments", tools=tools, due="list_cities")
        s = self._session(tools=tools)
        turn = await self._turn("empty-arguments", s, CITIES_PROMPT)
        await s.aclose()
        if (r := self._refused(turn, feature=False)):
            return self._result("empty-arguments", turn, r.status, r.reason)
        calls = [c for c in self._calls(turn) if c.name == "list_cities"]
        if not calls:
            others = self._calls(turn)
            what = f"called {', '.join(repr(c.name) for c in others)}" if others else "no call" + self._instead(turn)
            return self._result("empty-arguments", turn, FAIL, f"{what} (list_cities takes no parameters)")
        raw = calls[0].arguments_raw
        if calls[0].problems:
            return self._result("empty-arguments", turn, FAIL, f"list_cities arguments {raw!r}: {calls[0].problems[0]}")
        if not (raw or "").strip():
            return self._result("empty-arguments", turn, FAIL, "list_cities arguments are an empty string, not {}")
        return self._result("empty-arguments", turn, PASS, f"list_cities called with {raw}")

    async def check_tool_not_needed(self) -> CheckResult:
        # sglang PR 9657: streamed answers lost their content when tools were offered but not used.
        tools = ["get_weather", "calculator"]
        self._expect("tool-not-needed", tools=tools)
        s = self._session(tools=tools, stream=True)
        turn = await self._turn("tool-not-needed", s, NOT_NEEDED_PROMPT)
        await s.aclose()
        if (r := self._refused(turn, feature=False)):
            return self._result("tool-not-needed", turn, r.status, r.reason)
        calls = self._calls(turn)
        if calls:
            return self._result("tool-not-needed", turn, FAIL, f"called {calls[0].name} though no tool was needed")
        if (f := self._first_error(turn)):
            return self._result("tool-not-needed", turn, FAIL, f"{f.code}: {f.message}")
        if not turn.content.strip():
            return self._result("tool-not-needed", turn, FAIL, "no content in the streamed answer")
        return self._result("tool-not-needed", turn, PASS, f"answered {_quote(turn.content)} without a call")

    async def check_no_tools_commentary(self) -> CheckResult:
        # vllm PR 23167: with no tools offered, gpt-oss still wrote to the commentary channel and
        # the requester got nothing.
        self._expect("no-tools-commentary", tools=[])
        s = self._session(tools=[])
        turn = await self._turn("no-tools-commentary", s, NO_TOOLS_PROMPT)
        await s.aclose()
        if (r := self._refused(turn, feature=False)):
            return self._result("no-tools-commentary", turn, r.status, r.reason)
        calls = self._calls(turn)
        if calls:
            return self._result("no-tools-commentary", turn, FAIL, f"a call to {calls[0].name!r} with no tools offered")
        if (f := self._first_error(turn)):
            return self._result("no-tools-commentary", turn, FAIL, f"{f.code}: {f.message}")
        if not turn.content.strip():
            return self._result("no-tools-commentary", turn, FAIL, "no content (no tools were offered)")
        return self._result("no-tools-commentary", turn, PASS, f"answered {_quote(turn.content)}")

    @staticmethod
    def _instead(turn: TurnRecord) -> str:
        said = turn.content.strip()
        return f"; answered in text instead: {_quote(said)}" if said else ""

    async def check_arguments_valid(self) -> CheckResult:
        calls = self._seen.calls
        if not calls:
            return CheckResult("arguments-valid", SKIP, "no tool calls came back in the checks that ran", 0.0)
        bad = [(chk, c) for chk, c in calls if c.problems]
        if bad:
            chk, c = bad[0]
            details: dict[str, Any] = {"invalid": [f"{k}: {c.name} {c.arguments_raw} — {'; '.join(c.problems)}"
                                                   for k, c in bad]}
            reason = f"{len(bad)} of {len(calls)} call(s) invalid; first in {chk}: {c.name} {c.arguments_raw!r}: {c.problems[0]}"
            ctx = self._ctx.get(chk) or {"offered": [], "due": None}
            hits = sh.classify(sh.Answer(calls=[(c.name, c.arguments_raw)], offered=ctx["offered"], due=ctx["due"]))
            if hits:
                details["shapes"] = [h.to_dict() for h in hits]
                reason += f" [shape: {hits[0].shape.title}]"
            return CheckResult("arguments-valid", FAIL, reason, 0.0, details)
        return CheckResult("arguments-valid", PASS, f"{len(calls)} call(s), all JSON objects matching their schema", 0.0)

    async def check_no_harmony_leak(self) -> CheckResult:
        if not self._seen.answered:
            return CheckResult("no-harmony-leak", SKIP, "no answers to inspect", 0.0)
        leaks = self._seen.leaks
        if leaks:
            chk, f = leaks[0]
            details: dict[str, Any] = {"leaks": [f"{k} {f.where}: {f.message}" for k, f in leaks]}
            reason = f"{len(leaks)} leak(s); first in {chk}: {f.message}"
            turn = self._seen.turns.get(chk)
            hits = [h for h in (self.shapes(chk, turn, f.round) if turn else [])
                    if h.shape.code in ("raw-harmony-in-content", "header-words-in-content", "channel-words-in-content",
                                        "channel-in-tool-name", "constrain-in-tool-name")]
            if hits:
                details["shapes"] = [h.to_dict() for h in hits]
                reason += f" [shape: {hits[0].shape.title}]"
            return CheckResult("no-harmony-leak", FAIL, reason, 0.0, details)
        return CheckResult("no-harmony-leak", PASS, f"clean across {len(set(self._seen.answered))} check(s)", 0.0)

    async def check_reasoning(self) -> CheckResult:
        gpt_oss = "gpt-oss" in (self.model or "").lower()
        seen = self._seen.reasoning
        if not self._seen.answered:
            s = self._session(tools=[])
            await self._turn("reasoning", s, "Think briefly, then answer: is 17 a prime number?")
            await s.aclose()
        if seen:
            return CheckResult("reasoning", PASS, f"reasoning_content in {len(set(seen))} check(s)", 0.0)
        if not gpt_oss:
            return CheckResult("reasoning", SKIP, f"{self.model} is not a gpt-oss model: no reasoning expected, none came", 0.0)
        return CheckResult("reasoning", FAIL, "no reasoning_content in any answer: is --reasoning-parser gpt-oss set?", 0.0)

    async def check_soak(self) -> CheckResult:
        n = self.config.soak
        if n <= 0:
            return CheckResult("soak", SKIP, "soak turns set to 0", 0.0)
        stream = self._seen.streamed_tools_ok is not False
        s = self._session(tools=["get_weather"], max_rounds=2, stream=stream)
        passed, first_fail, cached_turns, prompt_total, cached_total = 0, None, 0, 0, 0
        reported = False
        try:
            for i in range(n):
                city = SOAK_CITIES[i % len(SOAK_CITIES)]
                turn = await self._turn("soak", s, f"What is the weather in {city}?")
                problem = self._soak_problem(turn)
                st = turn.stats
                if st and st.cached_tokens is not None:
                    reported = True
                    first_usage = turn.exchanges[0].usage or {}
                    c = ((first_usage.get("prompt_tokens_details") or {}).get("cached_tokens")) or 0
                    cached_turns += 1 if c > 0 else 0
                    cached_total += c
                    prompt_total += first_usage.get("prompt_tokens") or 0
                if self.progress:
                    self.progress("soak", i + 1, n)
                if problem:
                    first_fail = (i + 1, problem)
                    break
                passed += 1
        finally:
            await s.aclose()
        details: dict[str, Any] = {"turns": n, "passed": passed, "streamed": stream}
        cache = "the server does not report cached_tokens"
        if reported:
            ratio = cached_total / prompt_total if prompt_total else 0.0
            cache = f"prefix cache hit on {cached_turns}/{passed + (1 if first_fail else 0)} turn(s), {ratio:.0%} of prompt tokens"
            details.update(cached_turns=cached_turns, cached_tokens=cached_total, prompt_tokens=prompt_total)
        mode = "streamed" if stream else "not streamed (streaming tool calls failed)"
        if first_fail:
            details["first_failing_turn"] = first_fail[0]
            return CheckResult("soak", FAIL, f"turn {first_fail[0]} of {n} failed: {first_fail[1]} ({passed} passed, {mode}; {cache})",
                               0.0, details)
        return CheckResult("soak", PASS, f"{n}/{n} turns with a tool round, {mode}; {cache}", 0.0, details)

    def _soak_problem(self, turn: TurnRecord) -> str | None:
        if turn.error:
            return turn.error.message
        if (f := self._first_error(turn)):
            return f"{f.code}: {f.message}"
        calls = [e for e in turn.events if isinstance(e, ev.ToolCallRequested)]
        if not calls:
            return "no tool call" + (f"; answered {_quote(turn.content)}" if turn.content else "")
        last = turn.exchanges[-1]
        if not last.content.strip():
            if last.tool_calls:
                return "the model kept calling tools after the results (depth limit reached)"
            return f"an empty answer after the tool result (finish_reason {last.finish_reason!r})"
        return None


async def run_smoke(config: SmokeConfig, progress: Progress | None = None,
                    registry: ToolRegistry | None = None) -> AsyncIterator[CheckResult]:
    """Results as each check finishes (see ``SmokeRunner`` for the whole-run state)."""
    async for r in SmokeRunner(config, registry, progress).run():
        yield r


def _name_raw_shape(r: CheckResult) -> None:
    """A shape only the raw text shows (the answer said "reasoning-only", the raw text says the
    model wrote to the commentary channel with no tools offered) goes first, by name."""
    code = (r.details.get("replay") or {}).get("shape")
    hits = r.details.setdefault("shapes", [])
    if not code or (hits and hits[0]["shape"] == code):
        return
    hit = sh.Hit(sh.SHAPES[code], "seen in the raw replay").to_dict()
    old = f" [shape: {hits[0]['title']}]" if hits else ""
    hits.insert(0, hit)
    r.reason = (r.reason[: -len(old)] if old and r.reason.endswith(old) else r.reason) + f" [shape: {hit['title']}]"


def summarize(results: list[CheckResult]) -> dict[str, int]:
    out = {PASS: 0, FAIL: 0, UNSUPPORTED: 0, SKIP: 0}
    for r in results:
        out[r.status] = out.get(r.status, 0) + 1
    return out


def _short(text: str, n: int = 240) -> str:
    """One line of at most ``n`` characters (server errors can be tracebacks)."""
    t = " ".join((text or "").split())
    return t if len(t) <= n else t[: n - 1] + "…"


def _quote(text: str, n: int = 80) -> str:
    t = " ".join((text or "").split())
    return repr(t if len(t) <= n else t[: n - 1] + "…")


def _ms(v: float | None) -> str:
    return "n/a" if v is None else f"{v * 1000:.0f} ms"


OnResult = Callable[[CheckResult], Awaitable[None] | None]
