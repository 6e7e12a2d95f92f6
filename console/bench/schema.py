"""The JSON Schema of a saved bench result, and validation against it."""

from __future__ import annotations

SCHEMA_ID = "gpt-oss-console/bench-result/1"

_NUM = {"type": ["number", "null"]}
_DIST = {
    "type": "object",
    "required": ["n", "mean", "std", "p50", "p90", "p99", "min", "max"],
    "properties": {"n": {"type": "integer", "minimum": 0}, **{k: _NUM for k in
                   ("mean", "std", "p50", "p90", "p99", "min", "max")}},
    "additionalProperties": False,
}
_LEVEL = {
    "type": "object",
    "required": [
        "concurrency", "duration_s", "requests", "completed", "failed", "failure_rate",
        "total_input_tokens", "total_output_tokens", "request_throughput", "input_throughput",
        "output_throughput", "total_token_throughput", "achieved_concurrency",
        "ttft_ms", "ttft_any_ms", "itl_ms", "tpot_ms", "e2e_ms", "cost_per_m_output_usd", "errors", "server",
    ],
    "properties": {
        "concurrency": {"type": "integer", "minimum": 1},
        "duration_s": {"type": "number", "minimum": 0},
        "requests": {"type": "integer", "minimum": 0},
        "completed": {"type": "integer", "minimum": 0},
        "failed": {"type": "integer", "minimum": 0},
        "failure_rate": {"type": "number", "minimum": 0, "maximum": 1},
        "total_input_tokens": {"type": "integer", "minimum": 0},
        "total_output_tokens": {"type": "integer", "minimum": 0},
        **{k: {"type": "number", "minimum": 0} for k in (
            "request_throughput", "input_throughput", "output_throughput", "total_token_throughput",
            "achieved_concurrency")},
        **{k: _DIST for k in ("ttft_ms", "ttft_any_ms", "itl_ms", "tpot_ms", "e2e_ms")},
        "cost_per_m_output_usd": {"type": ["number", "null"], "minimum": 0},
        "errors": {"type": "array", "items": {"type": "object", "required": ["error", "count"]}},
        "published": {"type": ["object", "null"]},
        "client_processes": {"type": "integer", "minimum": 1},
        "server": {  # SGLang's own /metrics over the level; null when the server has none
            "type": ["object", "null"],
            "required": ["ttft_p50_ms", "itl_p50_ms", "e2e_p50_ms", "requests", "generation_tokens"],
            "properties": {k: _NUM for k in ("ttft_p50_ms", "itl_p50_ms", "e2e_p50_ms", "requests",
                                             "prompt_tokens", "generation_tokens", "cached_tokens",
                                             "cache_hit_rate")},
        },
    },
}
_FIGURE = {
    "type": "object",
    "required": ["source", "model", "gpus", "concurrency", "output_throughput"],
}
RESULT_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_ID,
    "title": "gpt-oss-console bench result",
    "type": "object",
    "required": ["schema", "started_at", "finished_at", "base_url", "model", "gpu", "config", "levels", "reference"],
    "properties": {
        "schema": {"const": SCHEMA_ID},
        "started_at": {"type": "string"},
        "finished_at": {"type": "string"},
        "base_url": {"type": "string"},
        "model": {"type": "string"},
        "gpu": {"type": ["string", "null"]},
        "config": {
            "type": "object",
            "required": ["concurrency", "input_len", "output_len", "requests", "seed", "dataset", "price_per_hour"],
            "properties": {
                "concurrency": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1},
                "input_len": {"type": "integer", "minimum": 1},
                "output_len": {"type": "integer", "minimum": 1},
                "requests": {"type": ["integer", "null"], "minimum": 1},
                "seed": {"type": "integer"},
                "dataset": {"type": ["string", "null"]},
                "price_per_hour": {"type": ["number", "null"], "minimum": 0},
            },
        },
        "levels": {"type": "array", "items": _LEVEL},
        "reference": {"type": "array", "items": _FIGURE},
        "tool_load": {"type": ["object", "null"]},
    },
}


def validate(result: dict) -> None:
    """Raise ``jsonschema.ValidationError`` when ``result`` does not match the schema."""
    import jsonschema

    jsonschema.validate(result, RESULT_SCHEMA, cls=jsonschema.Draft202012Validator)
