"""The launch's plan, carried on its container, against what the server logs.

At launch the console plans the resolved settings on the detected GPUs (their
memory free now) and stores the :class:`console.planner.capacity.Prediction`
in a container label. Whoever follows the log later — ``launch``, the Launch
area, ``status`` — folds the start-up lines into a :class:`CapacityWatch`,
which says predicted vs actual and, beyond 5 %, which input was off.
"""

from __future__ import annotations

from typing import Any, Mapping

from console.gpu.box import read_box
from console.logs.events import Capacity, KVPoolAllocated, WeightLoadBegin, WeightsLoaded
from console.planner import PlanError, plan
from console.planner.capacity import CapacityCheck, Observed, Prediction, check_capacity
from console.runtime.build import parse_gpus
from console.runtime.spec import LABEL_PLAN
from console.settings import gpt_oss_variant

GiB = 1 << 30


def predict(values: Mapping[str, Any], box=None) -> Prediction | None:
    """The plan for these resolved settings on this box (``box``: a ``DetectedBox``; read from
    NVML when not given). None when there is nothing to predict: not gpt-oss, no GPU
    request, no NVIDIA GPU here, or a plan the planner refuses."""
    model = gpt_oss_variant(values.get("model"))
    gpus = parse_gpus(values.get("gpus", "all"))
    if model is None or gpus is None:
        return None
    if box is None:
        box, _ = read_box()
    if box is None or box.memory is None:
        return None
    memory = box.memory if gpus == "all" else box.memory.only(gpus)
    if not memory.free:
        return None
    try:
        p = plan(model, box.spec, len(memory.free), tp=values.get("tensor_parallel_size"),
                 mem_fraction_static=values.get("mem_fraction_static"),
                 chunked_prefill_size=values.get("chunked_prefill"), memory=memory)
    except PlanError:
        return None
    return Prediction.from_plan(p) if p.max_total_num_tokens else None


def prediction_of(attrs: Mapping[str, Any] | None) -> Prediction | None:
    """The prediction a container was launched with (its label), from ``docker inspect`` attrs."""
    labels = ((attrs or {}).get("Config") or {}).get("Labels") or {}
    return Prediction.from_label(labels.get(LABEL_PLAN))


class CapacityWatch:
    """Folds SGLang's start-up events into what :func:`check_capacity` compares."""

    def __init__(self, prediction: Prediction | None) -> None:
        self.prediction = prediction
        self.free_at_load: int | None = None
        self.weights: int | None = None
        self.tokens: int | None = None
        self.chunked: int | None = None
        self.check: CapacityCheck | None = None

    def feed(self, ev: Any) -> bool:
        """One parser event; True when the check appeared or changed."""
        if isinstance(ev, WeightLoadBegin) and ev.avail_mem_gb is not None:
            # Every TP rank logs its own; the pool follows the least free (SGLang takes the minimum).
            free = int(ev.avail_mem_gb * GiB)
            self.free_at_load = free if self.free_at_load is None else min(self.free_at_load, free)
        elif isinstance(ev, WeightsLoaded) and ev.mem_usage_gb is not None:
            self.weights = max(self.weights or 0, int(ev.mem_usage_gb * GiB))
        elif isinstance(ev, KVPoolAllocated) and ev.tokens:
            self.tokens = self.tokens or ev.tokens
        elif isinstance(ev, Capacity) and ev.max_total_num_tokens:
            self.tokens = ev.max_total_num_tokens  # the definitive figure
            self.chunked = ev.chunked_prefill_size
        else:
            return False
        if self.prediction is None or not self.tokens:
            return False
        check = check_capacity(self.prediction, Observed(self.tokens, self.free_at_load, self.weights, self.chunked))
        changed = check != self.check
        self.check = check
        return changed
