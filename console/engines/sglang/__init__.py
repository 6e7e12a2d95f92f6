"""SGLang behind the Engine protocol — mostly an adapter over the console's existing SGLang code.

The flags come from console.settings.spec (``Setting.flag``), the argv from console.settings.argv,
the metric names are console.server.metrics' tables and the plan is console.planner.fit. The log
scanner lives here: :mod:`.scanner` (``SGLangScanner``, the follower's, speaking
console.logs.events) and :mod:`.logs` (the same events in engine-neutral words).
"""

from __future__ import annotations

from typing import Any, Mapping

from console.engines.base import Engine, Flag, MetricNames, Probes, StockImage

TARGET = "sglang"  # console.settings.spec.SGLANG


def _flags() -> dict[str, Flag]:
    from console.engines.base import COMMON_KEYS
    from console.settings.spec import BY_KEY, PARSER_OFF

    out: dict[str, Flag] = {}
    for key in COMMON_KEYS:
        s = BY_KEY[key]
        if s.kind == "bool":
            out[key] = Flag(s.flag, switch=True)
        elif key in ("reasoning_parser", "tool_call_parser"):
            out[key] = Flag(s.flag, off=(PARSER_OFF,))
        else:
            out[key] = Flag(s.flag, always=key in ("host", "port"))
    return out


def _own_settings() -> tuple:
    from console.engines.base import COMMON_KEYS
    from console.settings.spec import SETTINGS, SGLANG

    return tuple(s for s in SETTINGS if s.target == SGLANG and s.flag and s.key not in COMMON_KEYS)


def _metric_names() -> MetricNames:
    from console.server import metrics

    return MetricNames(prefix=metrics.PREFIX, gauges=dict(metrics.GAUGES), counters=dict(metrics.COUNTERS),
                       histograms=dict(metrics.HISTOGRAMS), rank_label="tp_rank")


class Sglang(Engine):
    name = "sglang"
    label = "SGLang"
    order = 10

    # The release, image and planning rules are the planner's pin (console.planner.sglang, issue 18).
    @property
    def version(self) -> str:  # type: ignore[override]
        from console.planner.sglang import VERSION

        return VERSION

    @property
    def stock_images(self) -> tuple[StockImage, ...]:  # type: ignore[override]
        from console.planner.sglang import IMAGE

        return (StockImage(IMAGE, (8, 9, 10, 12), "one CUDA 13 image for Ampere to Blackwell"),)

    secret_flags = ("--api-key", "--admin-api-key")
    secret_env = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "API_KEY", "SSH_PASSWORD")
    # No flag takes a key file, but SGLang (>= 0.5.2) reads options from --config FILE.yaml: the
    # console puts the key there (console.settings.argv.sglang_config), never in argv.
    key_file_flag = None
    probes = Probes(info=("/server_info", "/get_server_info"), version="/server_info",
                    identify=("/server_info", "/get_server_info"))

    def identify(self, body, owned_by=""):
        if "tp_size" in body or "model_path" in body:
            return str(body.get("version") or "") or None, body.get("model_path"), "/server_info answered"
        return None

    @property
    def command(self) -> tuple[str, ...]:
        from console.settings.argv import LAUNCH

        return tuple(LAUNCH)

    @property
    def flags(self) -> Mapping[str, Flag]:  # type: ignore[override]
        return _flags()

    @property
    def settings(self) -> tuple:  # type: ignore[override]
        return _own_settings()

    @property
    def metric_names(self) -> MetricNames:  # type: ignore[override]
        return _metric_names()

    @property
    def rules(self):  # type: ignore[override]
        from console.logs.diagnosis import _RULES

        return _RULES

    def argv(self, values: Mapping[str, Any]) -> list[str]:
        """Exactly what the image's entrypoint runs today (console.settings.argv.to_argv): no
        secret flag, those go in SGLang's --config file."""
        from console.secret import Secret
        from console.settings.argv import to_argv

        return to_argv({k: v.reveal() if isinstance(v, Secret) else v for k, v in values.items()})

    def scanner(self):
        from console.engines.sglang.logs import SglangScanner

        return SglangScanner()

    def plan(self, model, gpu, count: int = 1, **settings):
        from console.engines.sglang.plan import plan

        return plan(model, gpu, count, **settings)


ENGINE = Sglang()
