"""The connect card: how to reach a server from where the user sits, and what to paste.

``ConnectScreen`` (screen.py) shows ``console.connect``'s card for one endpoint. It is opened
from the Launch area when a server is ready (F10) and from Chat's endpoint (F4), each through
``open_connect(app, endpoint, bind)`` — the one hook a pane needs.
"""

from __future__ import annotations


def open_connect(app, endpoint, bind: str | None = None) -> None:
    from console.ui.connect.screen import ConnectScreen

    app.push_screen(ConnectScreen(endpoint, bind=bind))
