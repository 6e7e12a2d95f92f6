"""The application shell: header, tabs discovered from ``console.ui.panes``, footer."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, TabbedContent, TabPane

import console


def _styles_dir() -> Path:
    here = Path(console.__file__).parent
    shipped = here / "styles"  # inside the wheel
    return shipped if shipped.is_dir() else here.parent / "styles"  # source checkout


def discover_panes():
    import console.ui.panes as pkg

    mods = [importlib.import_module(f"console.ui.panes.{i.name}") for i in pkgutil.iter_modules(pkg.__path__)]
    return sorted((m for m in mods if hasattr(m, "PANE")), key=lambda m: m.ORDER)


class ConsoleApp(App):
    TITLE = "gpt-oss-console"
    CSS_PATH = str(_styles_dir() / "app.tcss")
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("f1,question_mark", "help", "Help"),
        Binding("ctrl+t", "toggle_dark", "Theme"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="areas"):
            for mod in discover_panes():
                name = mod.__name__.rsplit(".", 1)[1]
                with TabPane(mod.TITLE, id=f"tab-{name}"):
                    yield mod.PANE(id=f"pane-{name}")
        yield Footer()

    def action_toggle_dark(self) -> None:
        self.theme = "textual-light" if self.theme != "textual-light" else "textual-dark"


def run_app() -> int:
    ConsoleApp().run()
    return 0
