"""gpt-oss fit planner: catalog of models and GPUs, and what fits where, for the engine version
the image pins (SGLang 0.5.23: ``console.planner.sglang``).

Standard library only. See ``console.planner.fit`` for the public API, ``console.planner.memory``
for the memory free at load, ``console.planner.settings_map`` for a plan as launch settings and
``console.planner.capacity`` for a plan against what the server logged.
"""

from console.planner.catalog import (  # noqa: F401
    GPUS,
    MODELS,
    GpuSpec,
    ModelSpec,
    UnknownName,
    arch_name,
    gpu_from_nvml,
    lookup_gpu,
    lookup_model,
)
from console.planner.fit import (  # noqa: F401
    DOES_NOT_FIT,
    FITS,
    FITS_SHORTER,
    Plan,
    PlanError,
    choose_tp,
    matrix,
    plan,
    recommend,
)
from console.planner.memory import MemoryAtLoad, catalog_memory, detected_memory  # noqa: F401
from console.planner.sglang import SGLANG  # noqa: F401
