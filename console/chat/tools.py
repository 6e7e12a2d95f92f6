"""Tools the chat offers the model, and how each call is answered.

Built-in smoke tools are deterministic (fixed weather table, a safe calculator, a
clock with an injectable time source, a ticket tool with a nested/enum/array
schema) so the smoke suite can check results exactly. Operator tools come from a
JSON file in OpenAI's tools schema; each is answered by a fixed ``result`` or by
running a ``command`` (no shell) with the arguments as JSON on stdin.

Arguments are validated against each tool's JSON Schema with jsonschema.
"""

from __future__ import annotations

import ast
import asyncio
import hashlib
import json
import math
import operator
import os
import shlex
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable

from console.errors import ConsoleError
from console.exit_codes import EXIT_USAGE

Handler = Callable[[dict[str, Any]], "str | Awaitable[str]"]


class ToolFailed(Exception):
    """A tool could not answer; the message goes back to the model as the error result."""


@dataclass
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    handler: Handler
    source: str = "builtin"  # "builtin" | path of the operator file
    timeout_s: float = 10.0

    def schema(self) -> dict[str, Any]:
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": self.parameters}}


@dataclass(frozen=True)
class ToolOutcome:
    result: str  # what goes back to the model in the "tool" message
    error: str | None
    elapsed_s: float


@dataclass
class ToolRegistry:
    tools: dict[str, Tool] = field(default_factory=dict)

    def add(self, tool: Tool) -> None:
        self.tools[tool.name] = tool

    def get(self, name: str) -> Tool | None:
        return self.tools.get(name)

    def names(self) -> list[str]:
        return list(self.tools)

    def __contains__(self, name: str) -> bool:
        return name in self.tools

    def __len__(self) -> int:
        return len(self.tools)

    def schemas(self, names: list[str] | None = None) -> list[dict[str, Any]]:
        return [t.schema() for n, t in self.tools.items() if names is None or n in names]

    def validate(self, name: str, arguments: Any) -> list[str]:
        """Problems with a call's (parsed) arguments: unknown tool or schema violations."""
        tool = self.tools.get(name)
        if tool is None:
            return [f"unknown tool {name!r} (offered: {', '.join(self.tools) or 'none'})"]
        return schema_problems(tool.parameters, arguments)

    async def execute(self, name: str, arguments: Any) -> ToolOutcome:
        """Run one call. Never raises: failures become an error result for the model."""
        t0 = time.monotonic()
        tool = self.tools.get(name)
        if tool is None:
            err = f"unknown tool {name!r}"
            return ToolOutcome(json.dumps({"error": err}), err, time.monotonic() - t0)
        problems = schema_problems(tool.parameters, arguments)
        if problems:
            err = "invalid arguments: " + "; ".join(problems)
            return ToolOutcome(json.dumps({"error": err}), err, time.monotonic() - t0)
        try:
            out = tool.handler(arguments)
            if asyncio.iscoroutine(out) or isinstance(out, Awaitable):
                out = await asyncio.wait_for(out, tool.timeout_s + 1.0)  # a command tool times out itself first
            return ToolOutcome(str(out), None, time.monotonic() - t0)
        except asyncio.TimeoutError:
            err = f"{name} timed out after {tool.timeout_s:g} s"
        except ToolFailed as e:
            err = str(e)
        except Exception as e:  # a broken operator tool must not end the chat
            err = f"{name} failed: {type(e).__name__}: {e}"
        return ToolOutcome(json.dumps({"error": err}), err, time.monotonic() - t0)


def schema_problems(schema: dict[str, Any], arguments: Any) -> list[str]:
    import jsonschema

    try:
        cls = jsonschema.validators.validator_for(schema)
        validator = cls(schema)
        errors = sorted(validator.iter_errors(arguments), key=lambda e: list(e.absolute_path))
    except jsonschema.exceptions.SchemaError as e:
        return [f"the tool's own schema is invalid: {e.message}"]
    out = []
    for e in errors[:10]:
        where = "/".join(str(p) for p in e.absolute_path)
        out.append(f"{where}: {e.message}" if where else e.message)
    return out


# ----------------------------------------------------------------------------- built-ins

WEATHER = {
    "paris": {"temperature_c": 18, "conditions": "partly cloudy", "humidity": 62},
    "tokyo": {"temperature_c": 24, "conditions": "sunny", "humidity": 55},
    "london": {"temperature_c": 14, "conditions": "light rain", "humidity": 81},
    "new york": {"temperature_c": 21, "conditions": "clear", "humidity": 48},
    "berlin": {"temperature_c": 16, "conditions": "overcast", "humidity": 70},
    "san francisco": {"temperature_c": 17, "conditions": "fog", "humidity": 77},
    "sydney": {"temperature_c": 26, "conditions": "sunny", "humidity": 50},
    "singapore": {"temperature_c": 31, "conditions": "thunderstorms", "humidity": 85},
}


# The built-in tools that make their answers up say so in every result: the operator reading the
# call (and the model) must not take a fixed table for a weather service or a ticket for a filed one.
DEMO_WEATHER = "sample data from the console's built-in demo tool, not a weather service"
DEMO_TICKET = "demo tool: the id is made up and no ticket was filed"


def _weather(args: dict[str, Any]) -> str:
    loc = str(args["location"]).strip()
    key = loc.lower().split(",")[0].strip()
    row = WEATHER.get(key)
    if row is None:
        raise ToolFailed(f"no weather data for {loc!r}; known: {', '.join(k.title() for k in WEATHER)}")
    unit = args.get("unit", "celsius")
    temp = row["temperature_c"] if unit == "celsius" else round(row["temperature_c"] * 9 / 5 + 32, 1)
    return json.dumps({"location": key.title(), "temperature": temp, "unit": unit,
                       "conditions": row["conditions"], "humidity": row["humidity"], "demo": DEMO_WEATHER})


_BIN = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
        ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_UN = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCS = {"sqrt": math.sqrt, "abs": abs, "round": round, "sin": math.sin, "cos": math.cos, "tan": math.tan,
          "log": math.log, "log10": math.log10, "exp": math.exp, "floor": math.floor, "ceil": math.ceil,
          "min": min, "max": max}
_NAMES = {"pi": math.pi, "e": math.e, "tau": math.tau}


def safe_eval(expression: str) -> float | int:
    """Arithmetic only: numbers, + - * / // % ** (bounded), a few math functions. No eval()."""
    expr = expression.replace("^", "**").replace("×", "*").replace("÷", "/")
    if len(expr) > 500:
        raise ToolFailed("expression too long (500 characters at most)")
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        raise ToolFailed(f"not an arithmetic expression: {expression!r}") from None

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Pow) and (abs(right) > 100 or abs(left) > 1e6):
                raise ToolFailed("exponent too large")
            try:
                return _BIN[type(node.op)](left, right)
            except ZeroDivisionError:
                raise ToolFailed("division by zero") from None
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UN:
            return _UN[type(node.op)](ev(node.operand))
        if isinstance(node, ast.Name) and node.id in _NAMES:
            return _NAMES[node.id]
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS
                and not node.keywords and len(node.args) <= 4):
            try:
                return _FUNCS[node.func.id](*[ev(a) for a in node.args])
            except (ValueError, TypeError) as e:
                raise ToolFailed(f"{node.func.id}: {e}") from None
        raise ToolFailed(f"not allowed in an expression: {ast.unparse(node) if hasattr(ast, 'unparse') else node}")

    value = ev(tree)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        value = int(value)
    return value


def _calculator(args: dict[str, Any]) -> str:
    return json.dumps({"expression": args["expression"], "result": safe_eval(str(args["expression"]))})


def _make_clock(now: Callable[[], datetime]) -> Handler:
    def clock(args: dict[str, Any]) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        tzname = args.get("timezone") or "UTC"
        try:
            tz = timezone.utc if tzname.upper() == "UTC" else ZoneInfo(tzname)
        except (ZoneInfoNotFoundError, ValueError):
            raise ToolFailed(f"unknown time zone {tzname!r} (use an IANA name like Europe/Paris)") from None
        t = now().astimezone(tz)
        return json.dumps({"timezone": tzname, "iso": t.isoformat(timespec="seconds"), "weekday": t.strftime("%A")})

    return clock


def _ticket(args: dict[str, Any]) -> str:
    digest = hashlib.sha1(json.dumps(args, sort_keys=True).encode()).hexdigest()[:6].upper()
    return json.dumps({"ticket": f"T-{digest}", "title": args["title"], "priority": args["priority"],
                       "labels": args.get("labels", []), "assignee": args.get("assignee"), "status": "open",
                       "demo": DEMO_TICKET})


WEATHER_SCHEMA = {
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "City name, e.g. Paris"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Temperature unit"},
    },
    "required": ["location"],
    "additionalProperties": False,
}
CALC_SCHEMA = {
    "type": "object",
    "properties": {"expression": {"type": "string", "description": "Arithmetic expression, e.g. (17+25)*3"}},
    "required": ["expression"],
    "additionalProperties": False,
}
CLOCK_SCHEMA = {
    "type": "object",
    "properties": {"timezone": {"type": "string", "description": "IANA time zone, e.g. Europe/Paris or UTC"}},
    "required": [],
    "additionalProperties": False,
}
TICKET_SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 1},
        "priority": {"type": "string", "enum": ["low", "normal", "high", "urgent"]},
        "labels": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
        "assignee": {
            "type": "object",
            "properties": {"name": {"type": "string"},
                           "team": {"type": "string", "enum": ["infra", "ml", "support"]}},
            "required": ["name"],
        },
    },
    "required": ["title", "priority"],
}


def builtin_tools(now: Callable[[], datetime] | None = None) -> list[Tool]:
    now = now or (lambda: datetime.now(timezone.utc))
    return [
        Tool("get_weather", "Get the current weather for a city.", WEATHER_SCHEMA, _weather),
        Tool("calculator", "Evaluate an arithmetic expression and return the exact result.", CALC_SCHEMA, _calculator),
        Tool("get_time", "Get the current date and time (clock) in a time zone.", CLOCK_SCHEMA, _make_clock(now)),
        Tool("create_ticket", "Create a support ticket with a priority, labels and an assignee.", TICKET_SCHEMA, _ticket),
    ]


PATIENT_SCHEMA = {
    "type": "object",
    "properties": {
        "patient_id": {"type": "integer", "description": "The patient's number, e.g. 4711"},
        "kind": {"type": "string", "enum": ["mri", "labs", "summary"], "description": "Which report"},
    },
    "required": ["patient_id", "kind"],
    "additionalProperties": False,
}
NO_PARAMETERS = {"type": "object", "properties": {}, "additionalProperties": False}


def _patient_report(args: dict[str, Any]) -> str:
    pid, kind = int(args["patient_id"]), args["kind"]
    finding = {"mri": "no abnormality detected", "labs": "all values in range", "summary": "stable"}[kind]
    return json.dumps({"patient_id": pid, "kind": kind, "finding": finding})


def _list_cities(args: dict[str, Any]) -> str:
    return json.dumps({"cities": sorted(k.title() for k in WEATHER)})


def smoke_tools() -> list[Tool]:
    """Tools only the smoke suite offers, each for one known failure: a dotted name (SGLang cuts
    ``patient.get_report`` to ``get_report`` and drops the call, sglang PR 15140) and a tool
    without parameters (whose arguments must still be the JSON object ``{}``)."""
    return [
        Tool("patient.get_report", "Get a patient's medical report (MRI, labs or a summary) by patient number.",
             PATIENT_SCHEMA, _patient_report),
        Tool("list_cities", "List the cities the weather service has data for.", NO_PARAMETERS, _list_cities),
    ]


def smoke_registry(now: Callable[[], datetime] | None = None) -> ToolRegistry:
    reg = default_registry(now)
    for t in smoke_tools():
        reg.add(t)
    return reg


def default_registry(now: Callable[[], datetime] | None = None, tools_file: str | os.PathLike | None = None) -> ToolRegistry:
    reg = ToolRegistry()
    for t in builtin_tools(now):
        reg.add(t)
    if tools_file:
        for t in load_tools_file(tools_file):
            reg.add(t)
    return reg


# ----------------------------------------------------------------------------- operator tools


def load_tools_file(path: str | os.PathLike) -> list[Tool]:
    """Read operator tools: a JSON list (or ``{"tools": [...]}``) of OpenAI tool entries.

    Each entry adds one of ``"result"`` (fixed answer: a string or any JSON value) or
    ``"command"`` (argv list or a string split like a shell would, run without a shell;
    the arguments arrive as JSON on stdin and in ``$TOOL_ARGUMENTS``), and optionally
    ``"timeout_s"`` (default 10).
    """
    p = Path(path).expanduser()
    try:
        data = json.loads(p.read_text())
    except FileNotFoundError:
        raise ConsoleError(f"tools file not found: {p}", "check the path given to --tools-file", exit_code=EXIT_USAGE) from None
    except (OSError, ValueError) as e:
        raise ConsoleError(f"cannot read tools file {p}: {e}", "it must be JSON in OpenAI's tools schema", exit_code=EXIT_USAGE) from None
    entries = data.get("tools") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise ConsoleError(f"{p}: expected a list of tools (or {{\"tools\": [...]}})",
                           'each entry: {"type": "function", "function": {"name": ...}, "result": ...}', exit_code=EXIT_USAGE)
    tools = []
    for i, e in enumerate(entries):
        fn = e.get("function") if isinstance(e, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise ConsoleError(f"{p}: tool #{i + 1} has no function.name", 'each entry: {"type": "function", "function": {"name": ...}}', exit_code=EXIT_USAGE)
        params = fn.get("parameters") or {"type": "object", "properties": {}}
        if not isinstance(params, dict):
            raise ConsoleError(f"{p}: tool {fn['name']!r} has parameters that are not a JSON Schema object",
                               'e.g. "parameters": {"type": "object", "properties": {}}', exit_code=EXIT_USAGE)
        import jsonschema

        try:
            jsonschema.validators.validator_for(params).check_schema(params)
        except jsonschema.exceptions.SchemaError as err:
            raise ConsoleError(f"{p}: tool {fn['name']!r} has an invalid parameters schema: {err.message}",
                               "parameters must be a JSON Schema object, e.g. {\"type\": \"object\", \"properties\": {}}",
                               exit_code=EXIT_USAGE) from None
        timeout = e.get("timeout_s", 10)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < 86400:
            raise ConsoleError(f"{p}: tool {fn['name']!r} has timeout_s {timeout!r}",
                               "give seconds as a number above 0, e.g. \"timeout_s\": 10", exit_code=EXIT_USAGE)
        timeout = float(timeout)
        if "command" in e:
            try:
                argv = e["command"] if isinstance(e["command"], list) else shlex.split(str(e["command"]))
            except ValueError as err:
                raise ConsoleError(f"{p}: tool {fn['name']!r}'s command cannot be split like a shell line ({err})",
                                   'check its quotes, or give it as a list: ["program", "arg"]',
                                   exit_code=EXIT_USAGE) from None
            handler = _command_handler(fn["name"], [str(a) for a in argv], timeout)
        elif "result" in e:
            fixed = e["result"] if isinstance(e["result"], str) else json.dumps(e["result"])
            handler = (lambda fixed: lambda args: fixed)(fixed)
        else:
            raise ConsoleError(f"{p}: tool {fn['name']!r} needs \"result\" (fixed answer) or \"command\"",
                               'add "result": "..." or "command": ["program", "arg"]', exit_code=EXIT_USAGE)
        tools.append(Tool(fn["name"], fn.get("description", ""), params, handler, source=str(p), timeout_s=timeout))
    return tools


def _command_handler(name: str, argv: list[str], timeout: float) -> Handler:
    # subprocess.run in a worker thread: it kills the child on timeout, and leaves no asyncio
    # subprocess transport behind to be finalised after its event loop has closed.
    def run_blocking(payload: str) -> str:
        env = dict(os.environ, TOOL_NAME=name, TOOL_ARGUMENTS=payload)
        try:
            proc = subprocess.run(argv, input=payload.encode(), capture_output=True, env=env, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ToolFailed(f"{name}: command timed out after {timeout:g} s") from None
        except OSError as e:
            raise ToolFailed(f"cannot run {argv[0]!r}: {e.strerror or e}") from None
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip()[-500:] or proc.stdout.decode(errors="replace").strip()[-500:]
            raise ToolFailed(f"{name}: command exited with {proc.returncode}: {err}")
        return proc.stdout.decode(errors="replace").strip()

    async def run(args: dict[str, Any]) -> str:
        return await asyncio.to_thread(run_blocking, json.dumps(args))

    return run
