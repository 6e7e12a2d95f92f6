"""Model or parser? Replay a failed request through the engine's raw path and compare.

Every engine turns the model's Harmony text into OpenAI fields with its own parser, and a silent
drop reads the same whoever lost the call. So a failed request is sent again, rendered as
gpt-oss's prompt (``console.smoke.harmony``), to the route that returns the model's text with
its special tokens kept:

- SGLang: ``POST /generate`` with ``sampling_params.skip_special_tokens: false`` and
  ``no_stop_trim: true`` (the ``<|call|>`` that stopped generation stays in the text);
- vLLM: ``POST /v1/completions`` with ``skip_special_tokens: false`` (a sampling parameter vLLM
  accepts beside the OpenAI ones); the stop token comes back as ``stop_reason``;
- llama.cpp's ``llama-server``: ``POST /apply-template`` (the model's own chat template) then
  ``POST /completion`` with ``return_tokens: true``; special tokens are put back from their ids
  when the server does not print them (it prints them only with ``--special``). It reports
  ``stop_type: "eos"`` without saying which end-of-generation token it was, so a call that
  ended with ``<|return|>`` instead of ``<|call|>`` cannot be told apart there;
- llama-cpp-python: ``POST /v1/completions`` with the rendered prompt.

and the same chat request once more. The verdict:

- ``parser``: a well-formed call (or answer) in the raw text, lost, leaked or mangled in the
  OpenAI answer;
- ``model``: no call in the raw text (or a call where none was due);
- ``model-malformed``: the raw call breaks the format (wrong channel, ``<|return|>`` after it,
  arguments that are not a JSON object, a tool not offered) and the parser dropped or leaked it;
- ``not-reproduced``: the chat request answered correctly the second time (intermittent);
- ``no-raw-path`` / ``raw-failed``: the engine has no raw route the console knows, or it failed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from console.smoke import harmony, shapes as sh

RAW_MAX_TOKENS = 1024


@dataclass
class EngineInfo:
    kind: str  # sglang | vllm | llama.cpp | llama-cpp-python | unknown
    version: str | None = None
    model_path: str | None = None
    evidence: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Verdict:
    verdict: str
    why: str
    engine: str | None = None
    route: str | None = None
    raw_text: str | None = None
    raw_calls: list[dict[str, Any]] = field(default_factory=list)
    answer: str | None = None  # the failed answer, in one line
    reproduced: bool | None = None
    shape: str | None = None  # a shape only the raw text shows (console.smoke.shapes code)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


async def probe_engine(http: Any, models: list[dict[str, Any]] | None = None) -> EngineInfo:
    """Which engine answers at ``http``'s base URL: each engine's identify step (its own routes,
    console.engines' order), then llama-cpp-python's OpenAPI title (a test peer, not an engine)."""
    from console import engines

    seen: dict[str, Any] = {}

    async def get(path: str) -> Any:
        if path not in seen:
            seen[path] = await fetch(path)
        return seen[path]

    async def fetch(path: str) -> Any:
        try:
            r = await http.get(path)
        except Exception:  # noqa: BLE001 - an engine without the route, or a broken one
            return None
        if r.status_code != 200:
            return None
        try:
            return r.json()
        except ValueError:
            return None

    if models is None:
        body = await get("/v1/models")
        models = body.get("data") if isinstance(body, dict) and isinstance(body.get("data"), list) else []
    owner = next((str(m.get("owned_by") or "") for m in models if isinstance(m, dict)), "")
    for engine in engines.all_engines():
        body = None
        for route in engine.probes.identify:
            body = await get(route)
            if body is not None:
                break
        found = engine.identify(body, owner) if isinstance(body, dict) else None
        if found is not None:  # kind: "sglang", "vllm", "llama.cpp"
            return EngineInfo(engine.label.lower(), *found)
    api = await get("/openapi.json")
    title = str(((api or {}).get("info") or {}).get("title") or "") if isinstance(api, dict) else ""
    if "llama.cpp python" in title.lower() or "llama_cpp" in title.lower():
        return EngineInfo("llama-cpp-python", str((api.get("info") or {}).get("version") or "") or None, None,
                          f"/openapi.json title {title!r}")
    return EngineInfo("unknown", None, None, f"owned_by {owner!r}; no /server_info, /version or /props")


async def probe(base_url: str, api_key: str | None = None, models: list[dict[str, Any]] | None = None,
                timeout_s: float = 15.0) -> EngineInfo:
    """``probe_engine`` with a client of its own."""
    import httpx

    from console.server.client import _auth_headers, root_url

    async with httpx.AsyncClient(base_url=root_url(base_url), headers=_auth_headers(api_key),
                                 timeout=timeout_s) as http:
        return await probe_engine(http, models)


def looks_like_gpt_oss(*names: str | None) -> bool:
    return any(n and "gpt-oss" in n.lower().replace("_", "-") for n in names)


class Replayer:
    """Replays failed chat requests against one endpoint; the engine is probed once."""

    def __init__(self, base_url: str, api_key: str | None, model: str | None, *, timeout_s: float = 120.0):
        from console.server.client import root_url

        self.base_url = root_url(base_url)
        self.api_key = api_key
        self.model = model
        self.timeout_s = timeout_s
        self.engine: EngineInfo | None = None
        self._eos = False  # llama.cpp stopped at an end-of-generation token it did not name

    def _http(self) -> Any:
        import httpx

        from console.server.client import _auth_headers

        # The key is a Secret: its str is the mask, so the header takes it revealed (an f-string sent "sk-…").
        return httpx.AsyncClient(base_url=self.base_url, headers=_auth_headers(self.api_key),
                                 timeout=httpx.Timeout(self.timeout_s, connect=10.0))

    async def replay(self, request: dict[str, Any], ctx: dict[str, Any], result: Any) -> Verdict:
        """``request``: the chat body that failed; ``ctx``: what was offered and due (see
        ``SmokeRunner._expect``); ``result``: the failed ``CheckResult``."""
        failed = _one_line(result.reason)
        async with self._http() as http:
            if self.engine is None:
                self.engine = await probe_engine(http)
            eng = self.engine
            if not looks_like_gpt_oss(self.model, request.get("model"), eng.model_path):
                return Verdict("no-raw-path", f"{request.get('model') or self.model} is not a gpt-oss model: its raw "
                               "output is not Harmony, so there is nothing to compare the answer with",
                               eng.kind, answer=failed)
            route, raw, err = await self._raw(http, eng, request)
            if raw is None:
                return Verdict("raw-failed" if route else "no-raw-path", err or "no raw route", eng.kind, route,
                               answer=failed)
            again = await self._again(request, ctx)
        return judge(raw, ctx, result, again, engine=eng.kind, route=route,
                     end_unknown=eng.kind == "llama.cpp" and self._eos)

    async def _raw(self, http: Any, eng: EngineInfo, request: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
        """(route, raw text, error)."""
        messages, tools = request.get("messages") or [], request.get("tools") or None
        prompt = harmony.render_prompt(messages, tools, reasoning_effort=request.get("reasoning_effort") or "medium")
        temp = request.get("temperature", 0.0)
        temp = 0.0 if temp is None else temp
        n = min(int(request.get("max_tokens") or RAW_MAX_TOKENS), RAW_MAX_TOKENS * 4)
        try:
            if eng.kind == "sglang":
                body = {"text": prompt, "sampling_params": {"max_new_tokens": n, "temperature": temp,
                                                            "skip_special_tokens": False, "no_stop_trim": True}}
                r = await http.post("/generate", json=body)
                if r.status_code != 200:
                    return "/generate", None, f"/generate answered HTTP {r.status_code}: {_one_line(r.text)}"
                out = r.json()
                out = out[0] if isinstance(out, list) and out else out
                text = str(out.get("text") or "")
                matched = ((out.get("meta_info") or {}).get("finish_reason") or {})
                return "/generate", _with_stop(text, matched.get("matched") if isinstance(matched, dict) else None), None
            if eng.kind in ("vllm", "llama-cpp-python"):
                body = {"model": request.get("model") or self.model, "prompt": prompt, "max_tokens": n,
                        "temperature": temp}
                if eng.kind == "vllm":
                    body.update(skip_special_tokens=False, spaces_between_special_tokens=False)
                r = await http.post("/v1/completions", json=body)
                if r.status_code != 200:
                    return "/v1/completions", None, f"/v1/completions answered HTTP {r.status_code}: {_one_line(r.text)}"
                choice = (r.json().get("choices") or [{}])[0]
                return "/v1/completions", _with_stop(str(choice.get("text") or ""), choice.get("stop_reason")), None
            if eng.kind == "llama.cpp":
                return await self._llama_cpp(http, messages, tools, prompt, n, temp)
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            return eng.kind, None, f"the raw answer was not what {eng.kind} sends: {type(e).__name__}: {e}"
        except Exception as e:  # noqa: BLE001 - transport errors: httpx's, named in words
            return eng.kind, None, f"{type(e).__name__}: {e}"
        return None, None, (f"no raw route known for {eng.kind} ({eng.evidence}); the console knows SGLang's "
                            "/generate, vLLM's /v1/completions and llama.cpp's /completion")

    async def _llama_cpp(self, http: Any, messages, tools, prompt: str, n: int, temp: float):
        r = await http.post("/apply-template", json={"messages": messages, **({"tools": tools} if tools else {})})
        if r.status_code == 200 and isinstance(r.json().get("prompt"), str):
            prompt = r.json()["prompt"]  # the model's own template beats our rendering
        r = await http.post("/completion", json={"prompt": prompt, "n_predict": n, "temperature": temp,
                                                 "return_tokens": True, "cache_prompt": False})
        if r.status_code != 200:
            return "/completion", None, f"/completion answered HTTP {r.status_code}: {_one_line(r.text)}"
        body = r.json()
        text, tokens = str(body.get("content") or ""), [t for t in body.get("tokens") or [] if isinstance(t, int)]
        if "<|" not in text and any(t in harmony.TOKEN_TEXT for t in tokens):
            text = await self._detokenize(http, tokens)  # started without --special: put the markers back
        self._eos = body.get("stop_type") == "eos" and not text.endswith(harmony.END_TOKENS)
        return "/completion", text, None

    @staticmethod
    async def _detokenize(http: Any, tokens: list[int]) -> str:
        out, run = [], []

        async def flush() -> None:
            if run:
                r = await http.post("/detokenize", json={"tokens": list(run)})
                out.append(str(r.json().get("content") or ""))
                run.clear()

        for t in tokens:
            if t in harmony.TOKEN_TEXT:
                await flush()
                out.append(harmony.TOKEN_TEXT[t])
            else:
                run.append(t)
        await flush()
        return "".join(out)

    async def _again(self, request: dict[str, Any], ctx: dict[str, Any]) -> sh.Answer | None:
        """The same chat request once more, as the answer it gives."""
        from console.chat.session import ChatSession, ChatSettings

        s = ChatSession(ChatSettings(base_url=self.base_url, api_key=self.api_key, model=request.get("model"),
                                     timeout_s=self.timeout_s))
        try:
            async for _ in s.send_raw(request):
                pass
            turn = s.turns[-1]
        except Exception:  # noqa: BLE001 - the replay must never end the suite
            return None
        finally:
            await s.aclose()
        return sh.answer_from_turn(turn, **ctx)


def _with_stop(text: str, stop: Any) -> str:
    """Put back the stop token an engine trimmed, when it says which one it was."""
    if isinstance(stop, int) and stop in harmony.TOKEN_TEXT and not text.endswith(harmony.END_TOKENS):
        return text + harmony.TOKEN_TEXT[stop]
    return text


def _one_line(text: str | None, n: int = 200) -> str:
    t = " ".join((text or "").split())
    return t if len(t) <= n else t[: n - 1] + "…"


def answer_ok(a: sh.Answer) -> bool:
    """The answer a correct engine gives: the due call, well formed, or content when none is due."""
    if a.error or sh.classify(a):
        return False
    if a.due:
        return any(name == a.due and args.strip() for name, args in a.calls)
    return bool((a.content or "").strip())


def judge(raw: str, ctx: dict[str, Any], result: Any, again: sh.Answer | None, *,
          engine: str | None = None, route: str | None = None, end_unknown: bool = False) -> Verdict:
    """The verdict from the raw text, what was due and the failed answer. ``end_unknown``: the
    engine stopped at an end-of-generation token without saying which."""
    offered = set(ctx.get("offered") or [])
    due = ctx.get("due")
    msgs = harmony.parse_completion(raw)
    calls = harmony.find_calls(msgs, offered if offered else set(), end_unknown=end_unknown)
    failed = _one_line(result.reason)
    shape = ((result.details or {}).get("shapes") or [{}])[0].get("title")
    named = f" ({shape})" if shape else ""
    v = Verdict("", "", engine, route, raw, [{"name": c.name, "arguments": c.arguments, "channel": c.channel,
                                              "end": c.end, "problems": c.problems} for c in calls], failed)
    if again is not None:
        v.reproduced = not answer_ok(again)
        if not v.reproduced:
            v.verdict = "not-reproduced"
            v.why = f"the same request answered correctly the second time: an intermittent fault{named}"
            return v
    if due:
        call = next((c for c in calls if c.name == due), calls[0] if calls else None)
        if call is None:
            said = harmony.final_text(msgs) or harmony.analysis_text(msgs)
            v.verdict = "model"
            v.why = (f"no call in the raw text: the model did not call {due}"
                     + (f"; it wrote {_one_line(said, 80)!r}" if said else ""))
        elif call.problems:
            v.verdict = "model-malformed"
            v.why = (f"the raw text has a call to {call.name} that breaks the format ({'; '.join(call.problems)}); "
                     f"the engine's parser dropped or mangled it{named}")
        else:
            v.verdict = "parser"
            v.why = f"a well-formed call to {call.name} {call.arguments} in the raw text; the answer lost or mangled it{named}"
        return v
    if calls:
        v.verdict = "model"
        v.why = f"the raw text calls {calls[0].name} though no call was due" + (" and no tools were offered" if not offered else "")
        return v
    final = harmony.final_text(msgs)
    commentary = [m for m in msgs if m.channel == "commentary" and not m.recipient]
    if final.strip():
        v.verdict = "parser"
        v.why = f"the raw text has a final answer {_one_line(final, 80)!r}; the OpenAI answer lost or leaked it{named}"
    elif commentary:
        v.verdict = "model"
        v.why = (f"the model wrote to the commentary channel ({_one_line(commentary[0].content, 60)!r}), "
                 "not to final")
        if not offered:
            v.shape = "commentary-without-tools"
    else:
        v.verdict = "model"
        v.why = "no final answer in the raw text: the model wrote only " + (
            "analysis" if any(m.channel == "analysis" for m in msgs) else "nothing the format recognises")
    return v
