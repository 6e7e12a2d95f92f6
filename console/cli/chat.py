"""``chat``: one turn (or a transcript's continuation) from the shell, the chat pane's headless twin.

Prints reasoning, the answer as it streams, each tool call with its result, the
inspector's findings and the turn's stats; ``--json`` prints every event as a JSON
line instead (raw chunks included), for scripts and bug reports.

Exit codes: 0 the turn completed cleanly, 1 the inspector flagged an error or the
turn failed, 3 the server is unreachable.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

from console.cli._endpoint import add_endpoint_arguments, endpoint_from_args
from console.cli.common import EXIT_FAILED, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE, add_json_flag, whole_number

HELP = "send one chat turn (tools, reasoning, inspector findings) to an OpenAI-compatible server"
ORDER = 41
KEY_HINT = "pass --api-key-file FILE (or set GPT_OSS_CONSOLE_API_KEY_FILE)"


def register(parser) -> None:
    parser.add_argument("prompt", help="the user message ('-' reads it from stdin)")
    add_endpoint_arguments(parser)
    parser.add_argument("--system", default=None, help="system prompt")
    parser.add_argument("--effort", choices=["low", "medium", "high"], default="medium", help="reasoning effort")
    parser.add_argument("--no-stream", action="store_true", help="ask for one whole response")
    parser.add_argument("--tool-choice", default="auto", metavar="auto|required|none|NAME")
    parser.add_argument("--tools", default=None, metavar="NAME,...", help="offer only these tools ('' for none)")
    parser.add_argument("--tools-file", default=None, help="operator tools (OpenAI tools JSON with result/command)")
    parser.add_argument("--max-rounds", type=whole_number(0), default=8, help="tool rounds per turn (default 8)")
    parser.add_argument("--max-tokens", type=whole_number(1), default=None, help="max_tokens per request")
    parser.add_argument("--resume", metavar="JSONL", help="continue a saved transcript")
    parser.add_argument("--save", metavar="JSONL", help="save the transcript (with raw exchanges) here")
    parser.add_argument("--markdown", metavar="FILE", help="export the conversation as Markdown")
    add_json_flag(parser, help="print every event as one JSON line (JSON lines, raw chunks included) instead")
    parser.set_defaults(func=run)


def _event_json(e) -> str:
    return json.dumps({"type": type(e).__name__, **asdict(e)}, ensure_ascii=False, default=str)


def run(args) -> int:
    from console.chat import events as ev
    from console.chat import transcript
    from console.chat.session import ChatSession, ChatSettings
    from console.errors import ConsoleError

    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    if not prompt.strip():
        raise ConsoleError("empty prompt", exit_code=EXIT_USAGE)
    if args.model is not None and not args.model.strip():
        raise ConsoleError("--model is empty", "leave it out to use the first model the server lists",
                           exit_code=EXIT_USAGE)
    tools = None if args.tools is None else [t.strip() for t in args.tools.split(",") if t.strip()]
    endpoint = endpoint_from_args(args)
    settings = ChatSettings(base_url=endpoint.base_url, api_key=endpoint.api_key, key_hint=KEY_HINT,
                            model=endpoint.model, stream=not args.no_stream, reasoning_effort=args.effort,
                            system_prompt=args.system, tool_choice=args.tool_choice, tools=tools,
                            max_rounds=args.max_rounds, max_tokens=args.max_tokens, tools_file=args.tools_file)
    session = ChatSession(settings)
    if tools:
        unknown = [t for t in tools if t not in session.registry]
        if unknown:
            raise ConsoleError(f"unknown tool(s): {', '.join(unknown)}", f"tools: {', '.join(session.registry.names())}",
                               exit_code=EXIT_USAGE)
    if args.resume:
        transcript.load_jsonl(args.resume, session)

    state = {"mode": None, "nl": True}

    class _Out:
        """stdout that remembers whether the last thing written ended a line."""

        def write(self, text: str) -> None:
            if text:
                sys.stdout.write(text)
                state["nl"] = text.endswith("\n")

        def flush(self) -> None:
            sys.stdout.flush()

    out = _Out()

    def section(mode: str, title: str) -> None:
        if state["mode"] != mode:
            if not state["nl"]:
                out.write("\n")
            out.write(f"── {title} ──\n")
            state["mode"] = mode

    async def go() -> tuple[list, int]:
        bad, code = [], EXIT_OK
        try:
            if args.model:
                await session.resolve_model(verify=True)  # a typo is bad input, said before the turn
            async for e in session.run_turn(prompt):
                if args.json:
                    out.write(_event_json(e) + "\n")
                elif isinstance(e, ev.ReasoningDelta):
                    section("reasoning", "reasoning")
                    out.write(e.text)
                elif isinstance(e, ev.ContentDelta):
                    section("content", "answer")
                    out.write(e.text)
                elif isinstance(e, ev.ToolCallRequested):
                    section("tool", "tool call")
                    args_txt = json.dumps(e.arguments, ensure_ascii=False) if e.arguments is not None else e.arguments_raw
                    out.write(f"→ {e.name}({args_txt})  [{e.call_id}]\n")
                    for p in e.problems:
                        out.write(f"  ! {p}\n")
                elif isinstance(e, ev.ToolResult):
                    section("tool", "tool call")
                    out.write(f"← {e.name}: {e.result}  ({e.elapsed_s * 1000:.1f} ms)\n")
                elif isinstance(e, ev.Finding):
                    section("finding", "inspector")
                    out.write(f"{'✖' if e.severity == 'error' else '⚠'} {e.code} [{e.where}]: {e.message}\n")
                elif isinstance(e, ev.TurnError):
                    section("error", "error")
                    out.write(f"✖ {e.message}\n" + (f"  → {e.hint}\n" if e.hint else ""))
                elif isinstance(e, ev.TurnStats):
                    section("stats", "stats")
                    out.write(e.summary() + "\n")
                out.flush()
                if isinstance(e, ev.TurnError):
                    code = EXIT_UNAVAILABLE if e.status is None and "no server at" in e.message else EXIT_FAILED
                elif isinstance(e, ev.Finding) and e.severity == "error":
                    bad.append(e)
        finally:
            await session.aclose()
        return bad, code

    import asyncio  # here, not at import: every command pays for module-level imports
    bad, code = asyncio.run(go())
    if args.save:
        transcript.save_jsonl(session, args.save)
    if args.markdown:
        transcript.export_markdown(session, args.markdown)
    if code == EXIT_OK and bad:
        code = EXIT_FAILED
    return code
