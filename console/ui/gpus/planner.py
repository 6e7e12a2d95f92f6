"""The model × verdict matrix for the detected GPUs (or any catalog GPU).

Pick a GPU set and a context length; each row is the planner's recommendation
for one model, for the SGLang version the image pins. The detected box is planned
from the memory free now (``set_memory`` follows the GPU samples); a catalog GPU
from the whole card. Enter on a row posts ``PlanChosen`` with the plan's launch
settings (``console.planner.settings_map``), which the app relays to the launch form.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.validation import ValidationResult, Validator
from textual.widgets import DataTable, Input, Label, Select, Static

from console.ui.fields import TextField
from console.ui.gpus.format import parse_tokens, tokens
from console.ui.messages import PlanChosen

DETECTED = "detected"
DEFAULT_CATALOG_GPU = "H100-80GB"
DEFAULT_CONTEXT = 131072
MAX_GPUS = 8  # the largest TP gpt-oss takes; more GPUs only add replicas
COLUMNS = ("Model", "Verdict", "TP", "Max ctx", "Conc", "Attn", "Chunk", "Mem frac")
# Free memory moving by less than this between samples does not replan (no flicker).
REPLAN_STEP = 256 * 1024**2

VERDICT_STYLE = {"fits": "bold green", "fits-shorter-context": "bold yellow", "does-not-fit": "bold red"}
VERDICT_SHORT = {"fits": "fits", "fits-shorter-context": "shorter ctx", "does-not-fit": "no fit"}


def plan_values(plan) -> dict:
    """A plan as launch settings: the planner's one mapping (console.planner.settings_map)."""
    return plan.settings


class GpuCount(Validator):
    def __init__(self, panel: PlannerPanel) -> None:
        super().__init__()
        self.panel = panel

    def validate(self, value: str) -> ValidationResult:
        most = self.panel.max_count()
        raw = value.strip()
        if raw.isdigit() and 1 <= int(raw) <= most:
            return self.success()
        where = f"this box has {most}" if most < MAX_GPUS else f"1 to {most}"
        return self.failure(f"GPU count {raw or '(empty)'!r}: type a whole number, {where}")


class ContextLength(Validator):
    def validate(self, value: str) -> ValidationResult:
        n = parse_tokens(value)
        if n is not None and 1 <= n <= DEFAULT_CONTEXT:
            return self.success()
        said = value.strip() or "(empty)"
        return self.failure(f"context {said!r}: type tokens such as 32k or 131072 (1 to {tokens(DEFAULT_CONTEXT)})")


class PlanMatrix(DataTable):
    BINDINGS = [Binding("enter", "select_cursor", "Use plan", show=True)]


class PlannerPanel(Vertical):
    """GPU choice, context, and one row per model."""

    BINDINGS = [Binding("c", "focus_context", "Context", show=False)]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.detected = None  # (GpuSpec, count, [indices]) once NVML answered with GPUs
        self.memory = None  # MemoryAtLoad of the detected GPUs, from the latest sample
        self._memory_key = None
        self.plans: list = []
        self.engine_verdicts: dict[str, list] = {}  # model → console.engines.verdicts
        self.problem: str | None = None  # what is wrong with the inputs, said under them

    def compose(self) -> ComposeResult:
        from console.planner.catalog import GPUS

        options = [(g.name, g.name) for g in GPUS]
        with Horizontal(id="plan-controls"):
            yield Select(options, value=DEFAULT_CATALOG_GPU, allow_blank=False, compact=True, id="plan-gpu")
            yield Label("×", classes="plan-x")
            yield TextField("1", id="plan-count", type="integer", compact=True, max_length=2, tooltip="GPU count",
                        validators=[GpuCount(self)], validate_on=["changed"])
            yield Label("ctx", classes="plan-x")
            yield TextField(tokens(DEFAULT_CONTEXT), id="plan-context", compact=True, max_length=8,
                        tooltip="context length for the verdict and concurrency (e.g. 32k)",
                        validators=[ContextLength()], validate_on=["changed"])
        yield Static("", id="plan-problem")
        yield PlanMatrix(id="plan-matrix", cursor_type="row", zebra_stripes=True)
        yield Static("", id="plan-reasons")

    def on_mount(self) -> None:
        self.query_one("#plan-problem", Static).display = False
        self.replan()

    # -- inputs
    def set_detected(self, spec, count: int, indices: list[int], memory=None) -> None:
        """Offer the detected GPU set first and select it."""
        from console.planner.catalog import GPUS

        self.detected = (spec, count, indices)
        if memory is not None:
            self.memory, self._memory_key = memory, self._key(memory)
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

    def set_memory(self, memory) -> None:
        """The detected GPUs' memory free now; replans the box when it moved enough to matter."""
        key = self._key(memory)
        if key == self._memory_key:
            return
        self.memory, self._memory_key = memory, key
        if self.query_one("#plan-gpu", Select).value == DETECTED:
            self.replan()

    @staticmethod
    def _key(memory):
        return (tuple(f // REPLAN_STEP for f in memory.free), tuple((h.pid, h.container) for h in memory.holders))

    def max_count(self) -> int:
        if self.detected is not None and self.query_one("#plan-gpu", Select).value == DETECTED:
            return self.detected[1]
        return MAX_GPUS

    def _gpu_and_count(self):
        from console.planner.catalog import lookup_gpu

        choice = self.query_one("#plan-gpu", Select).value
        count = int(self.query_one("#plan-count", Input).value.strip())
        if choice == DETECTED and self.detected is not None:
            return self.detected[0], count, self.memory
        return lookup_gpu(str(choice)), count, None

    def _inputs_problem(self) -> str | None:
        for input_id in ("#plan-count", "#plan-context"):
            field = self.query_one(input_id, Input)
            result = field.validate(field.value)
            if result is not None and not result.is_valid:
                return result.failure_descriptions[0]
        return None

    @on(Select.Changed, "#plan-gpu")
    @on(Input.Changed, "#plan-count")
    @on(Input.Changed, "#plan-context")
    def _inputs_changed(self) -> None:
        self.replan()

    # -- the matrix
    def replan(self) -> None:
        from console.planner import MODELS, PlanError, plan

        table = self.query_one("#plan-matrix", PlanMatrix)
        cursor = table.cursor_row
        table.clear(columns=True)
        self.plans = []
        problem = self._inputs_problem()
        self._show_problem(problem)
        if problem is not None:
            # Nothing planned from a value that is not what the field shows.
            table.add_columns(*COLUMNS)
            self.query_one("#plan-reasons", Static).update("")
            return
        from console import engines

        gpu, count, memory = self._gpu_and_count()
        ctx = parse_tokens(self.query_one("#plan-context", Input).value)
        rows = []
        self.engine_verdicts = {}
        for model in MODELS.values():
            try:
                p = plan(model, gpu, count, context_length=min(ctx, model.max_context), memory=memory)
                # The same model on every engine, by each engine's own rules (the line under the verdict).
                self.engine_verdicts[p.model] = engines.verdicts(model, gpu, count, memory=memory,
                                                                 max_model_len=min(ctx, model.max_context))
            except PlanError as exc:
                self._show_problem(str(exc))
                continue
            self.plans.append(p)
            ok = p.verdict != "does-not-fit"
            rows.append((
                p.model,
                Text(VERDICT_SHORT[p.verdict], style=VERDICT_STYLE[p.verdict]),
                str(p.tp),
                f"{p.max_context:,}" if ok else "-",
                str(p.concurrency) if ok else "-",
                p.attention_backend,
                str(p.chunked_prefill_size),
                f"{p.mem_fraction_static:.3f}",
            ))
        # Each column as wide as its widest value, set here rather than left to the table's
        # auto width, which kept an H100's `fa3` width for an A100's `triton` (issue 10 item 9).
        for i, name in enumerate(COLUMNS):
            table.add_column(name, width=max([len(name)] + [len(str(r[i])) for r in rows]))
        for p, row in zip(self.plans, rows):
            table.add_row(*row, key=p.model)
        if self.plans:
            table.move_cursor(row=min(max(cursor, 0), len(self.plans) - 1))
            self._show_reasons(table.cursor_row)

    def _show_problem(self, problem: str | None) -> None:
        self.problem = problem
        line = self.query_one("#plan-problem", Static)
        line.update(Text(f"✗ {problem}", style="bold red") if problem else "")
        line.display = problem is not None

    @on(DataTable.RowHighlighted, "#plan-matrix")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_reasons(event.cursor_row)

    def _show_reasons(self, row: int) -> None:
        if not 0 <= row < len(self.plans):
            return
        p = self.plans[row]
        text = Text()
        gpus = f"{p.gpu_count}× {p.gpu}"
        if p.memory_source == "detected":
            gpus += f", {p.free_at_load_bytes / 1024**3:.1f} GiB free now"
        text.append(f"{p.model} on {gpus} ({p.planned_for}): ", style="bold")
        text.append(p.verdict_text, style=VERDICT_STYLE[p.verdict])
        text.append(f" — {p.tp_reason}\n")
        found = self.engine_verdicts.get(p.model) or []
        if found:  # one line: at 80×24 the verdict per engine must not push the reasons out
            text.append("Engines: ", style="bold")
            for i, (engine, ep, _problem) in enumerate(found):
                text.append(" · " if i else "")
                verdict = ep.verdict if ep is not None else "does-not-fit"
                text.append(f"{engine.label} {VERDICT_SHORT[verdict] if ep is not None else 'n/a'}",
                            style=VERDICT_STYLE[verdict])
            text.append("\n")
        # Memory other processes hold comes first: at 80×24 it is what the operator must see.
        held = [w for w in p.warnings if "already held" in w]
        for warning in held:
            text.append(f"! {warning}\n", style="yellow")
        for reason in p.reasons:
            text.append(f"• {reason}\n")
        for warning in p.warnings:
            if warning not in held:
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
        self.post_message(PlanChosen(plan_values(p), source="gpus", plan=p))

    def action_focus_context(self) -> None:
        self.query_one("#plan-context", Input).focus()
