"""The Engine protocol: everything the console needs to know about one inference server.

An engine (SGLang, vLLM, llama.cpp, …) is one package under ``console/engines/`` whose
``ENGINE`` is an instance of a subclass of :class:`Engine`. It supplies:

* ``name`` (the ``--engine`` value and container label) and ``label`` (for people);
* ``version`` (the release its stock images and its flag fixture pin) and
  ``stock_images`` (one per GPU architecture; :meth:`Engine.stock_image` picks);
* ``settings`` — its own launch settings, declared like the common ones
  (:class:`console.settings.spec.Setting`) — and ``flags``: how each common setting key
  (:data:`COMMON_KEYS`) reaches its command line, or why it does not apply;
* :meth:`Engine.argv` from setting values, :meth:`Engine.redact` for printing it,
  ``secret_flags`` / ``secret_env`` (what carries a secret) and ``key_file_flag``;
* :meth:`Engine.scanner` — a log scanner emitting :mod:`console.engines.events` — and
  ``rules`` (its diagnosis rules);
* ``metric_names`` (its Prometheus names → the console's neutral names) and ``probes``;
* :meth:`Engine.plan` — its memory plan for a model on a GPU set.

Stdlib only, no Textual, no HTTP: the core and the image's entrypoint may both import it.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Mapping

from console.errors import ConsoleError
from console.exit_codes import EXIT_USAGE
from console.secret import Secret

# The settings every engine understands, by their key in console.settings.spec. The memory
# budget is ``mem_fraction_static`` (SGLang's name; vLLM's --gpu-memory-utilization) and
# concurrency is ``max_running_requests`` until the settings are renamed for all engines.
COMMON_KEYS = (
    "model", "served_model_name", "max_model_len", "tensor_parallel_size", "mem_fraction_static",
    "max_running_requests", "host", "port", "api_key", "reasoning_parser", "tool_call_parser",
    "enable_metrics",
)
GPT_OSS_PARSER = "gpt-oss"  # the common value of reasoning_parser / tool_call_parser
PARSER_OFF = "none"


class EngineSettingError(ConsoleError):
    """A setting this engine cannot take (or takes differently); the hint says what to do."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class StockImage:
    image: str  # repository:tag, pinned
    archs: tuple[int, ...]  # compute-capability majors it is built for (8 = Ampere/Ada, 9 = Hopper, …)
    note: str = ""
    # A local name (no registry publishes it under this name: the operator builds or tags it): the
    # console never pulls it, and ``obtain`` is the one sentence that says how to get it.
    local: bool = False
    obtain: str = ""

    def serves(self, major: int) -> bool:
        return major in self.archs


@dataclass(frozen=True)
class Flag:
    """How one common setting reaches an engine's command line.

    ``flag=None`` with ``positional=True``: the value is a positional argument.
    ``switch``: a bare flag when the value is true, nothing when false.
    ``values``: common value → the engine's spelling (parser keys); a value listed in
    ``off`` leaves the flag out. ``with_flags``: more arguments that come with it
    (vLLM's --enable-auto-tool-choice beside --tool-call-parser).
    ``unsupported``: the engine has no such setting; setting it is an error saying this.
    """

    flag: str | None = None
    switch: bool = False
    positional: bool = False
    values: Mapping[str, str] = field(default_factory=dict)
    off: tuple[Any, ...] = ()
    with_flags: tuple[str, ...] = ()
    bare: bool = False  # the flag alone stands for any value not in ``off`` (llama.cpp's --jinja)
    unsupported: str = ""
    always: bool = False  # passed even when unset (the engine's own default is not what we want)


@dataclass(frozen=True)
class MetricNames:
    """An engine's Prometheus names, keyed by the console's neutral short names.

    ``gauges``: short → (metric without prefix, "count" | "ratio"); ``counters``: short →
    metric without ``_total``; ``histograms``: short → metric. ``rank_label``: the label
    whose values are shards of one replica (aggregated with max, never summed).
    """

    prefix: str
    gauges: Mapping[str, tuple[str, str]]
    counters: Mapping[str, str]
    histograms: Mapping[str, str]
    rank_label: str | None = "tp_rank"

    def full(self, short: str) -> str | None:
        """``"running"`` → ``"vllm:num_requests_running"``."""
        for table in (self.gauges, self.counters, self.histograms):
            if short in table:
                metric = table[short]
                return self.prefix + (metric[0] if isinstance(metric, tuple) else metric)
        return None


@dataclass(frozen=True)
class Probes:
    """HTTP routes that tell whether the server is up and ready.

    Ready = ``health`` answers 200 *and* ``models`` lists a model. ``loading_status``:
    what ``health`` answers while the model is still loading (503 on all three).
    ``info``: routes describing the running server (first that answers wins);
    ``version``: a route whose JSON names the engine's version (None: none).
    """

    health: str = "/health"
    models: str = "/v1/models"
    loading_status: int = 503
    info: tuple[str, ...] = ()
    version: str | None = None
    metrics: str = "/metrics"
    metrics_need_key: bool = False  # llama-server guards /metrics with --api-key; SGLang and vLLM do not
    # Routes whose JSON tells this engine apart from the others (the first that answers is read
    # by Engine.identify): how a client that knows only a URL finds out what serves it.
    identify: tuple[str, ...] = ()


class Engine(abc.ABC):
    name: str
    label: str
    version: str  # the release the stock images and tests/data/engines/<name>-flags.json pin
    order: int = 100  # position in lists (SGLang first)
    stock_images: tuple[StockImage, ...] = ()
    settings: tuple = ()  # console.settings.spec.Setting declarations of its own settings
    flags: Mapping[str, Flag] = {}
    secret_flags: tuple[str, ...] = ("--api-key",)  # argv flags whose value is a secret
    secret_env: tuple[str, ...] = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")  # env names that carry one
    key_file_flag: str | None = None  # the engine's own "read the API key from this file" flag
    # Else an options file the engine reads (``--config FILE.yaml``), where the key goes as
    # ``api-key: "…"``: the file's name under the secrets folder and the flag that names it.
    config_file: str | None = None
    config_flag: str = "--config"
    # huggingface_hub (inside the engine) reads the HF token from the file HF_TOKEN_PATH names;
    # False: the engine reads only the HF_TOKEN variable, which `docker inspect` shows.
    hf_token_file: bool = True
    rules: tuple = ()
    metric_names: MetricNames
    probes: Probes = Probes()

    # -- images ----------------------------------------------------------------------
    def stock_image(self, compute_capability: tuple[int, int] | None = None) -> StockImage:
        """The pinned stock image for a GPU (the first one when the GPU is unknown)."""
        if compute_capability:
            for img in self.stock_images:
                if img.serves(compute_capability[0]):
                    return img
        return self.stock_images[0]

    def is_stock_image(self, image: str) -> bool:
        repo = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
        return any(img.image.rsplit(":", 1)[0] == repo for img in self.stock_images)

    # -- command line ----------------------------------------------------------------
    @property
    @abc.abstractmethod
    def command(self) -> tuple[str, ...]:
        """What starts the server before its flags (``("vllm", "serve")``)."""

    def argv(self, values: Mapping[str, Any]) -> list[str]:
        """The full command line for these setting values (common keys and this engine's own).

        Secrets are passed as given (a :class:`Secret` is revealed: argv is what the engine
        reads); print it through :meth:`redact`. Raises :class:`EngineSettingError` for a
        setting the engine does not have.
        """
        positional: list[str] = []
        args: list[str] = []
        for key, rule in self.flags.items():
            value = values.get(key)
            special = self.special_argv(key, value)
            if special is not None:
                args += special
                continue
            if value is None and rule.always:
                value = self.default_of(key)
            if value is None or value is False:
                continue
            if rule.unsupported:
                raise EngineSettingError(f"{self.label} has no {key.replace('_', ' ')} setting: {rule.unsupported}",
                                         f"unset {key.upper()} for --engine {self.name}")
            if isinstance(value, Secret):
                value = value.reveal()
            if rule.flag is None and not rule.positional:
                continue  # nothing to pass: the engine always does this
            if rule.positional:
                positional.append(str(value))
            elif rule.switch:
                if value is True:
                    args.append(rule.flag)  # type: ignore[arg-type]
            elif value in rule.off:
                continue
            elif rule.bare:
                args += [rule.flag, *rule.with_flags]  # type: ignore[list-item]
            else:
                text = rule.values.get(str(value), str(value)) if rule.values else str(value)
                args += [rule.flag, text]  # type: ignore[list-item]
                args += list(rule.with_flags)
        for s in self.settings:
            value = values.get(s.key)
            if value is None:
                value = s.default
            if value is None or value is False or not s.flag:
                continue
            args += [s.flag] if value is True else [s.flag, str(value)]
        args += [str(a) for a in values.get("extra_args") or ()]
        return [*self.command, *positional, *args]

    def special_argv(self, key: str, value: Any) -> list[str] | None:
        """Arguments for a common key that a plain Flag cannot express; None: use the Flag."""
        return None

    def default_of(self, key: str) -> Any:
        from console.settings.spec import BY_KEY

        return BY_KEY[key].default if key in BY_KEY else None

    def flag_for(self, key: str) -> str | None:
        """The engine's flag for a common key (None: positional, unsupported or unknown)."""
        rule = self.flags.get(key)
        return rule.flag if rule and not rule.unsupported else None

    # -- what a launch form shows --------------------------------------------------------
    def not_taken(self) -> dict[str, str]:
        """Declared launch settings this engine does not take → why, in words (the Launch form
        greys them out with this; ``launch`` refuses them set with the same reason)."""
        from console.settings.spec import ENTRYPOINT, SETTINGS, SGLANG

        out: dict[str, str] = {}
        sglang = self.name == "sglang"
        for s in SETTINGS:
            rule = self.flags.get(s.key)
            if rule is not None and rule.unsupported:
                out[s.key] = rule.unsupported
            elif s.key in COMMON_KEYS and s.key not in self.flags:
                out[s.key] = f"{self.label} has no such setting"
            elif not sglang and s.target == SGLANG and s.key not in COMMON_KEYS and s.key != "extra_args":
                out[s.key] = f"an SGLang setting; {self.label} has no such option"
            elif not sglang and s.key.startswith("ssh_"):
                out[s.key] = f"the stock {self.label} image has no SSH server (SSH is the project's SGLang image's)"
            elif s.key == "hf_token" and not self.hf_token_file:
                out[s.key] = (f"{self.label} reads the HF token only from its environment, which docker inspect "
                              "shows; download the weights into the HF cache folder first (or give MODEL as a path)")
            assert s.target != ENTRYPOINT or sglang or s.key in out or s.key == "hf_token", s.key
        return out

    def launch_settings(self) -> tuple:
        """The settings a launch of this engine takes, in form order: the declared ones it takes
        (common, container, image) and then its own (:attr:`settings`), each a
        :class:`console.settings.spec.Setting` with its label, help and allowed values."""
        from console.settings.spec import SETTINGS

        skip = self.not_taken()
        declared = {s.key for s in SETTINGS}
        return (tuple(s for s in SETTINGS if s.key not in skip)
                + tuple(s for s in self.settings if s.key not in declared))

    def redact(self, argv: list[str]) -> list[str]:
        """A copy of argv safe to show: the value of every secret flag masked (the console's one
        scrubber, with this engine's secret flags among its names)."""
        from console.settings.mask import scrubber_with

        return scrubber_with(self.secret_flags).scrub_argv(argv)

    def key_file_argv(self, path: str) -> list[str] | None:
        """Arguments that make the engine read its API key from ``path``; None when it cannot
        (then the key must go through argv, masked by the image's supervisor)."""
        return [self.key_file_flag, path] if self.key_file_flag else None

    def identify(self, body: dict, owned_by: str = "") -> tuple[str | None, str | None, str] | None:
        """(version, model path, why) when ``body`` — the JSON of the first ``probes.identify``
        route that answered — is this engine's; ``owned_by``: what /v1/models says. None: not it."""
        return None

    # -- watching --------------------------------------------------------------------
    @abc.abstractmethod
    def scanner(self):
        """A fresh log scanner: ``feed(lines) -> list[events.Event]``."""

    # -- planning --------------------------------------------------------------------
    @abc.abstractmethod
    def plan(self, model, gpu, count: int = 1, **settings: Any):
        """The memory plan for ``model`` on ``count`` × ``gpu`` with these settings."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.version}>"
