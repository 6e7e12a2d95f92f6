"""gpt-oss fit planner: catalog of models and GPUs, and what fits where under SGLang.

Standard library only. See ``console.planner.fit`` for the public API.
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
