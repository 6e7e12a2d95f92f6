"""The model × verdict matrix for the detected GPUs (or any catalog GPU).

Pick a GPU set and a context length; each row is the planner's recommendation
for one model. Enter on a row posts ``PlanChosen`` with the settings keyed by
the launch settings' names (``console.settings``), which the app relays to the
launch form.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Label, Select, Static

from console.ui.gpus.format import parse_tokens, tokens
from console.ui.messages import PlanChosen

DETECTED = "detected"
DEFAULT_CATALOG_GPU = "H100-80GB"
DEFAULT_CONTEXT = 131072

VERDICT_STYLE = {"fits": "bold green", "fits-shorter-context": "bold yellow", "does-not-fit": "bold red"}
VERDICT_SHORT = {"fits": "fits", "fits-shorter-context": "shorter ctx", "does-not-fit": "no fit"}


def plan_values(plan, gpu_indices: list[int] | None = None) -> dict[str, Any]:
    """A plan as launch settings (names from ``console.settings.spec``)."""
    values: dict[str, Any] = {
        "model": plan.hf_id,
        "tensor_parallel_size": plan.tp,
        "max_model_len": plan.recommended_context_length,
        "attention_backend": plan.attention_backend,
        "chunked_prefill": plan.chunked_prefill_size,
    }
    if plan.mem_fraction_source == "given":
        values["mem_fraction_static"] = plan.mem_fraction_static
    if gpu_indices and plan.tp < len(gpu_indices):
        # One replica uses the first TP cards; say which, rather than "all".
        values["gpus"] = ",".join(str(i) for i in gpu_indices[: plan.tp])
    return values


class PlanMatrix(DataTable):
    BINDINGS = [Binding("enter", "select_cursor", "Use plan", show=True)]


class PlannerPanel(Vertical):
    """GPU choice, context, and one row per model."""

    BINDINGS = [Binding("c", "focus_context", "Context", show=False)]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.detected = None  # (GpuSpec, count, [indices]) once NVML answered with GPUs
        self.plans: list = []

    def compose(self) -> ComposeResult:
        from console.planner.catalog import GPUS

        options = [(g.name, g.name) for g in GPUS]
        with Horizontal(id="plan-controls"):
            yield Select(options, value=DEFAULT_CATALOG_GPU, allow_blank=False, compact=True, id="plan-gpu")
            yield Label("×", classes="plan-x")
            yield Input("1", id="plan-count", type="integer", compact=True, max_length=2, tooltip="GPU count")
            yield Label("ctx", classes="plan-x")
            yield Input(tokens(DEFAULT_CONTEXT), id="plan-context", compact=True, max_length=8,
                        tooltip="context length for the verdict and concurrency (e.g. 32k)")
        table = PlanMatrix(id="plan-matrix", cursor_type="row", zebra_stripes=True)
        table.add_columns("Model", "Verdict", "TP", "Max ctx", "Conc", "Attn", "Chunk", "Mem frac")
        yield table
        yield Static("", id="plan-reasons")

    def on_mount(self) -> None:
        self.replan()

    # -- inputs
    def set_detected(self, spec, count: int, indices: list[int]) -> None:
        """Offer the detected GPU set first and select it."""
        from console.planner.catalog import GPUS

        self.detected = (spec, count, indices)
        label = f"This box: {count}× {spec.name}"
        options = [(label, DETECTED)] + [(g.name, g.name) for g in GPUS]
        select = self.query_one("#plan-gpu", Select)
        with self.prevent(Select.Changed):
            select.set_options(options)
            select.value = DETECTED
        count_input = self.query_one("#plan-count", Input)
        with self.prevent(Input.Changed):
            count_input.value = str(count)
        self.replan()

    def _gpu_and_count(self):
        from console.planner.catalog import lookup_gpu

        choice = self.query_one("#plan-gpu", Select).value
        raw = self.query_one("#plan-count", Input).value.strip()
        count = int(raw) if raw.isdigit() and int(raw) > 0 else 1
        if choice == DETECTED and self.detected is not None:
            return self.detected[0], count, self.detected[2]
        return lookup_gpu(str(choice)), count, None

    def context(self) -> int:
        value = parse_tokens(self.query_one("#plan-context", Input).value)
        return value if value is not None else DEFAULT_CONTEXT

    @on(Select.Changed, "#plan-gpu")
    @on(Input.Changed, "#plan-count")
    @on(Input.Changed, "#plan-context")
    def _inputs_changed(self) -> None:
        self.replan()

    # -- the matrix
    def replan(self) -> None:
        from console.planner import MODELS, PlanError, plan

        gpu, count, _ = self._gpu_and_count()
        ctx = self.context()
        table = self.query_one("#plan-matrix", PlanMatrix)
        cursor = table.cursor_row
        table.clear()
        self.plans = []
        for model in MODELS.values():
            try:
                p = plan(model, gpu, count, context_length=min(ctx, model.max_context))
            except PlanError as exc:
                self.query_one("#plan-reasons", Static).update(Text(str(exc), style="red"))
                continue
            self.plans.append(p)
            ok = p.verdict != "does-not-fit"
            table.add_row(
                p.model,
                Text(VERDICT_SHORT[p.verdict], style=VERDICT_STYLE[p.verdict]),
                str(p.tp),
                f"{p.max_context:,}" if ok else "-",
                str(p.concurrency) if ok else "-",
                p.attention_backend,
                str(p.chunked_prefill_size),
                f"{p.mem_fraction_static:.3f}",
                key=p.model,
            )
        if self.plans:
            table.move_cursor(row=min(max(cursor, 0), len(self.plans) - 1))
            self._show_reasons(table.cursor_row)

    @on(DataTable.RowHighlighted, "#plan-matrix")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_reasons(event.cursor_row)

    def _show_reasons(self, row: int) -> None:
        if not 0 <= row < len(self.plans):
            return
        p = self.plans[row]
        text = Text()
        text.append(f"{p.model} on {p.gpu_count}× {p.gpu}: ", style="bold")
        text.append(p.verdict_text, style=VERDICT_STYLE[p.verdict])
        text.append(f" — {p.tp_reason}\n")
        for reason in p.reasons:
            text.append(f"• {reason}\n")
        for warning in p.warnings:
            text.append(f"! {warning}\n", style="yellow")
        if p.verdict != "does-not-fit":
            text.append("Enter: carry these settings to the launch form", style="dim")
        self.query_one("#plan-reasons", Static).update(text)

    @on(DataTable.RowSelected, "#plan-matrix")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        row = event.cursor_row
        if not 0 <= row < len(self.plans):
            return
        p = self.plans[row]
        if p.verdict == "does-not-fit":
            self.app.notify(p.reasons[0] if p.reasons else "does not fit", title=f"{p.model} does not fit",
                            severity="warning")
            return
        _, _, indices = self._gpu_and_count()
        self.post_message(PlanChosen(plan_values(p, indices), source="gpus"))

    def action_focus_context(self) -> None:
        self.query_one("#plan-context", Input).focus()
