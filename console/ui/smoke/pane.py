"""Run the conformance smoke suite against the current endpoint, with a live results table."""

from __future__ import annotations


from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical

from console.ui import messages
from console.ui.smoke.view import SmokeView


class SmokePane(Vertical):
    """The smoke view, following the endpoint the launch and chat areas announce."""

    BINDINGS = [Binding("ctrl+b", "compare", "Compare engines")]  # also "Smoke: Compare engines" in the palette

    def action_compare(self) -> None:
        from console.ui.compare.screen import CompareScreen

        self.app.push_screen(CompareScreen.from_smoke(self.query_one(SmokeView)))

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="smoke-pane")

    def compose(self) -> ComposeResult:
        from console.server.endpoint import endpoint_or_problem

        from console.ui.recall import recalled, text

        endpoint, _ = endpoint_or_problem(default_base_url="")  # an unusable key file: the Chat area says so
        kept = recalled("smoke")
        env_url = bool(endpoint.base_url)  # the environment wins over what was remembered
        soak = kept.get("soak")
        yield SmokeView(
            endpoint.base_url or text(kept.get("base_url")) or "",
            endpoint.api_key,
            endpoint.model or (None if env_url else text(kept.get("model"))),
            **({"soak": soak} if isinstance(soak, int) and not isinstance(soak, bool) and soak >= 0 else {}),
            id="smoke-view",
        )

    def on_endpoint_changed(self, message: messages.EndpointChanged) -> None:
        self.query_one(SmokeView).set_endpoint(message.base_url, message.api_key, message.model)

    def action_run(self) -> None:
        self.query_one(SmokeView).action_run()

    def palette_commands(self):
        yield ("Run the smoke suite", self.action_run, "Against the endpoint in the bar (F5)")

    def quit_warning(self) -> str | None:
        return self.query_one(SmokeView).quit_warning()

    def cancel_work(self) -> None:
        self.query_one(SmokeView).action_stop()
