"""The smoke suite's checks by name, in run order, with what each proves.

Kept apart from the runner so the CLI can list them without importing the chat core.
"""

CHECKS: dict[str, str] = {
    "models": "GET /v1/models lists the model",
    "plain-chat": "a non-streamed answer with content",
    "streaming": "a streamed answer: content deltas, [DONE], first token in time",
    "tool-auto": "tool_choice auto: the model calls get_weather",
    "tool-required": "tool_choice required: a call comes back",
    "tool-named": "tool_choice names get_weather: that tool is called",
    "parallel-calls": "two calls (one per city) in one response",
    "multi-turn": "tool results go back, the model answers; a second user turn works",
    "streaming-tool-call": "a tool call over a stream, assembled and valid",
    "dotted-tool-name": "a dotted tool name (patient.get_report) is called by its full name",
    "empty-arguments": "a tool without parameters is called with the object {} as arguments",
    "tool-not-needed": "tools offered but not needed, streamed: the answer still comes as content",
    "no-tools-commentary": "no tools offered: content comes, no calls, no commentary-channel artefacts",
    "arguments-valid": "every tool call's arguments are JSON and match the schema",
    "no-harmony-leak": "no Harmony markers in content, reasoning or arguments anywhere",
    "reasoning": "reasoning_content present (gpt-oss)",
    "soak": "N turns of tool rounds in one conversation",
}
