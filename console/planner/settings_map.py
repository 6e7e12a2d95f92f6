"""A plan as launch settings: the one mapping the CLI, the GPUs screen and the image use.

Standard library only (the image entrypoint imports it). Keys are the launch
settings' names from :mod:`console.settings.spec`; flags come from the same
declaration, so a renamed flag cannot leave the planner behind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from console.settings.spec import BY_KEY

if TYPE_CHECKING:
    from console.planner.fit import Plan


def plan_settings(plan: Plan) -> dict[str, Any]:
    """What the plan recommends, keyed by setting name (``model``, ``tensor_parallel_size``, …).

    The context length only when the plan fits; the memory fraction only when it was
    given (otherwise the engine's own default is what was planned for); the GPUs when
    the plan runs on some of the detected ones rather than all of them.
    """
    values: dict[str, Any] = {
        "model": plan.hf_id,
        "tensor_parallel_size": plan.tp,
    }
    if plan.recommended_context_length:
        values["max_model_len"] = plan.recommended_context_length
    values["attention_backend"] = plan.attention_backend
    values["chunked_prefill"] = plan.chunked_prefill_size
    if plan.mem_fraction_source == "given":
        values["mem_fraction_static"] = plan.mem_fraction_static
    if plan.gpu_indices and len(plan.gpu_indices) < plan.gpu_count:
        # One replica on the GPUs the plan chose (the emptiest ones): say which, not "all".
        values["gpus"] = ",".join(str(i) for i in plan.gpu_indices)
    return values


def plan_flags(plan: Plan) -> dict[str, Any]:
    """The same values as the engine's flags, without ``--`` (``tp``, ``context-length``, …)."""
    return {
        BY_KEY[key].flag.lstrip("-"): value
        for key, value in plan_settings(plan).items()
        if BY_KEY[key].flag
    }


def auto_settings(plan: Plan, values: dict[str, Any]) -> dict[str, Any]:
    """The settings the image's entrypoint fills from the plan: those declared ``auto``
    (picked at start-up) that the operator left unset."""
    return {
        key: value
        for key, value in plan_settings(plan).items()
        if BY_KEY[key].auto and values.get(key) is None
    }
