"""Figures to show beside measured ones: SGLang's published numbers and the seed's claim.

From ../shared/reference/sglang-gpt-oss.md §7. Neither is trusted: the bench
screen puts the operator's own measurement next to both.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

GUIDE = "SGLang 0.5.1 gpt-oss usage guide (awesome-sglang), in=1024 out=1024"
BLOG = "LMSYS blog 2025-08-27, batch-1 decode"
SEED = "seed README (claim)"


@dataclass(frozen=True)
class Figure:
    source: str
    model: str  # "gpt-oss-20b" | "gpt-oss-120b"
    gpus: tuple[str, ...]  # catalog GPU names the figure applies to
    concurrency: int
    output_throughput: float | None = None  # tok/s (a range's midpoint for claims)
    output_throughput_range: tuple[float, float] | None = None
    ttft_ms: float | None = None
    itl_ms: float | None = None
    input_len: int | None = None
    output_len: int | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["gpus"] = list(self.gpus)
        d["output_throughput_range"] = list(self.output_throughput_range) if self.output_throughput_range else None
        return d


HOPPER = ("H100-80GB", "H200-141GB")
FIGURES: tuple[Figure, ...] = (
    Figure(GUIDE, "gpt-oss-20b", HOPPER, 1, 304.6, None, 50.0, 3.29, 1024, 1024),
    Figure(GUIDE, "gpt-oss-20b", HOPPER, 8, 1350.8, None, None, None, 1024, 1024),
    Figure(GUIDE, "gpt-oss-120b", HOPPER, 1, 211.5, None, 70.0, 4.73, 1024, 1024),
    Figure(GUIDE, "gpt-oss-120b", HOPPER, 8, 786.6, None, None, None, 1024, 1024),
    Figure(BLOG, "gpt-oss-120b", ("H100-80GB",), 1, 318.5),
    Figure(BLOG, "gpt-oss-120b", ("B200-180GB",), 1, 416.0),
    Figure(SEED, "gpt-oss-120b", ("H100-80GB",), 1, 50.0, (45.0, 55.0)),
)


def model_key(model: str | None) -> str | None:
    """"openai/gpt-oss-120b", "gpt-oss-120b-mxfp4" → "gpt-oss-120b"; other models → None."""
    m = (model or "").lower()
    if "120b" in m:
        return "gpt-oss-120b"
    if "20b" in m:
        return "gpt-oss-20b"
    return None


def gpu_key(gpu: str | None) -> str | None:
    """Any GPU spelling the planner's catalog knows → its catalog name."""
    if not gpu:
        return None
    try:
        from console.planner.catalog import lookup_gpu

        return lookup_gpu(gpu).name
    except Exception:  # unknown or ambiguous name: nothing to compare with
        return None


def figures_for(model: str | None, gpu: str | None) -> list[Figure]:
    """Published figures and claims for this model on this GPU; none unless both are known
    (a figure for another card is no reference for this one)."""
    mk, gk = model_key(model), gpu_key(gpu)
    if mk is None or gk is None:
        return []
    return [f for f in FIGURES if f.model == mk and gk in f.gpus]


def gpus_with_figures() -> list[str]:
    return sorted({g for f in FIGURES for g in f.gpus})


def missing_reason(model: str | None, gpu: str | None, pick: str = "pass --gpu H100 (etc.)") -> str:
    """Why a run has no reference figures, in words (``pick`` says how to name a GPU here)."""
    if not gpu:
        return f"no GPU detected: {pick} to compare with published figures"
    mk, gk = model_key(model), gpu_key(gpu)
    if mk is None:
        return f"no published figures for {model}: only gpt-oss-20b/120b have them"
    if gk is None:
        return f"no published figures for {gpu} (not a catalog GPU): nothing to compare with"
    return (f"no published figures for {mk} on {gk}: nothing to compare with "
            f"(figures exist for {', '.join(gpus_with_figures())})")


def lengths_note(fig: dict, cfg: dict) -> str | None:
    """Why measured ÷ published is not like for like, when the run's lengths differ from the figure's."""
    if fig.get("input_len") is None or fig.get("output_len") is None:
        return "lengths not published"
    run_in = "dataset" if cfg.get("dataset") else cfg.get("input_len")
    if run_in != fig["input_len"] or cfg.get("output_len") != fig["output_len"]:
        return (f"figure in={fig['input_len']} out={fig['output_len']}, "
                f"this run in={run_in} out={cfg.get('output_len')}: not like for like")
    return None


def closest(figures: list[Figure], concurrency: int) -> Figure | None:
    """The published (non-claim) figure measured at the concurrency nearest to ``concurrency``."""
    real = [f for f in figures if f.source != SEED]
    return min(real, key=lambda f: (abs(f.concurrency - concurrency), f.source)) if real else None


def detect_gpu() -> str | None:
    """The first GPU's name through the console's NVML seam (so a replayed recording counts),
    None without a driver or GPU: the bench still runs, without a GPU column."""
    from console.gpu import read_inventory

    try:
        inv = read_inventory()
    except Exception:  # the seam reports a missing driver in inv.error; anything else is no GPU too
        return None
    return inv.gpus[0].name if inv.gpus else None
