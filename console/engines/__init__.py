"""The inference engines the console can launch and watch, behind one protocol.

Each engine is one subpackage here (``sglang``, ``vllm``, ``llamacpp``) whose ``ENGINE``
is a :class:`console.engines.base.Engine`. They are found, not listed: every subpackage
with an ``ENGINE`` is an engine, and so is every installed distribution's entry point in
the group ``gpt_oss_console.engines`` (``name = "module:ENGINE"``), the way harlequin finds
its adapters. Adding a fourth engine is adding one package. Nothing is imported until an
engine is asked for.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from console.errors import ConsoleError
from console.exit_codes import EXIT_USAGE

DEFAULT = "sglang"
ENTRY_POINT_GROUP = "gpt_oss_console.engines"


class UnknownEngine(ConsoleError):
    exit_code = EXIT_USAGE


@lru_cache(maxsize=1)
def _sources() -> dict[str, str]:
    """name → "module:attr" for every engine, in-tree first (an entry point cannot shadow one)."""
    found = {m.name: f"{__name__}.{m.name}:ENGINE" for m in pkgutil.iter_modules(__path__) if m.ispkg}
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep.value)
    return found


@lru_cache(maxsize=None)
def _load(name: str):
    module, _, attr = _sources()[name].partition(":")
    engine = getattr(importlib.import_module(module), attr or "ENGINE", None)
    if engine is None or getattr(engine, "name", None) != name:
        raise UnknownEngine(f"{_sources()[name]} does not provide an engine named {name!r}",
                            "check the package's ENGINE (or its entry point)")
    return engine


def names() -> list[str]:
    """Engine names, SGLang first, then by each engine's ``order``."""
    return sorted(_sources(), key=lambda n: (getattr(_load(n), "order", 100), n))


def get(name: str | None = None):
    """The engine called ``name`` (default SGLang); UnknownEngine lists the known ones."""
    key = (name or DEFAULT).strip().lower().replace(".", "").replace("-", "").replace("_", "")
    key = {"llama": "llamacpp", "llamaserver": "llamacpp"}.get(key, key)
    if key not in _sources():
        raise UnknownEngine(f"unknown engine {name!r}", f"use one of: {', '.join(names())}")
    return _load(key)


def all_engines() -> list:
    return [get(n) for n in names()]


def stock_image_named(image: str | None):
    """The engine's :class:`~console.engines.base.StockImage` declared as exactly ``image`` (None
    when no engine declares it): how the runtime knows a local name it must not pull."""
    for engine in all_engines():
        for stock in engine.stock_images:
            if stock.image == image:
                return stock
    return None


def local_image(image: str | None):
    """The :class:`~console.engines.base.StockImage` when ``image`` is an engine's local name (built
    or tagged on the Docker host, published under no such name: never pulled), else None. An
    engine that does not load declares nothing here: the caller goes on as for any image."""
    try:
        stock = stock_image_named(image) if image else None
    except ConsoleError:
        return None
    return stock if stock is not None and stock.local else None


def verdicts(model, gpu, count: int = 1, **settings) -> list[tuple]:
    """Every engine's plan for one model on the same GPUs and settings, in engine order:
    ``(engine, EnginePlan or None, problem)`` — problem: why the engine cannot be planned with
    these settings (llama.cpp with TENSOR_PARALLEL_SIZE 2), in its own words. The one way the
    plan command and the GPUs area show a verdict per engine. ``memory`` (the detected box's
    free memory) reaches the engines that plan from it (SGLang)."""
    from console.errors import ConsoleError

    out = []
    for engine in all_engines():
        try:
            out.append((engine, engine.plan(model, gpu, count, **settings), ""))
        except ConsoleError as exc:
            out.append((engine, None, str(exc)))
    return out


def by_metrics(text: str):
    """The engine whose metric prefix a /metrics page uses (SGLang when none matches): how a
    client that knows only a URL reads the right names."""
    for engine in all_engines():
        if engine.metric_names.prefix in text:
            return engine
    return get(DEFAULT)
