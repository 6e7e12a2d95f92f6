"""Chats persist: saved as they happen, listed at start, resumed, deleted, pruned — never with the key.

Against the SGLang-shaped server (tests/peers/sglang_shaped) with an API key.
"""

from __future__ import annotations

import json
import os
import stat
import time

from console.chat import saved
from console.ui.chat import adapter
from console.ui.chat.saved_list import SavedChatsList, SavedChatsScreen
from console.chat.settings import ChatSettings
from console.ui.screens.confirm import ConfirmScreen
from tests.test_ui_chat_support import ChatTestApp, send_and_wait
from tests.ui_helpers import until

KEY = "sk-saved-chat-secret-5f3a9c7e1b"


def app_for(peer) -> ChatTestApp:
    return ChatTestApp(settings=ChatSettings(base_url=peer.base_url, api_key=KEY), factory=adapter.make_session)


async def test_a_chat_is_saved_as_it_goes_listed_resumed_and_deleted(sglang_shaped_factory):
    peer = sglang_shaped_factory(api_key=KEY)
    app = app_for(peer)
    async with app.run_test(size=(100, 40)) as pilot:
        await send_and_wait(pilot, app.pane, "hello there")
        await until(pilot, lambda: saved.list_chats(), "the chat to be saved")
        [chat] = saved.list_chats()
        assert chat.turns == 1 and chat.title == "hello there"
        await send_and_wait(pilot, app.pane, "and again")
        await until(pilot, lambda: saved.list_chats()[0].turns == 2, "the second turn saved")
    path = chat.path
    assert path.parent == saved.chats_dir() and len(saved.list_chats()) == 1  # one file per conversation
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    text = path.read_text()
    assert KEY not in text and KEY[-8:] not in text  # the key is never written, nor a part of it
    assert [json.loads(line)["kind"] for line in text.splitlines()].count("turn") == 2

    # Next start: the saved chat is offered in the empty conversation; Enter resumes it.
    app = app_for(peer)
    async with app.run_test(size=(100, 40)) as pilot:
        offer = await until(pilot, lambda: app.pane.query(SavedChatsList), "the saved chats at start")
        assert "hello there" in str(offer.first().get_option_at_index(0).prompt)
        offer.first().focus()
        await pilot.press("enter")
        await until(pilot, lambda: len(app.pane.turns) == 2, "the resumed conversation")
        assert not app.pane.query(SavedChatsList)  # the list steps aside
        await send_and_wait(pilot, app.pane, "third")
        await until(pilot, lambda: saved.list_chats()[0].turns == 3, "the third turn, in the same file")
        assert [c.path for c in saved.list_chats()] == [path]

        # F5 lists them; Delete asks first, then removes the file.
        await pilot.press("f5")
        screen = await until(pilot, lambda: isinstance(app.screen, SavedChatsScreen) and app.screen, "the list")
        screen.query_one(SavedChatsList).focus()
        await pilot.press("delete")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("y")
        await until(pilot, lambda: not path.exists(), "the file to go")


async def test_old_chats_are_pruned_at_start_and_new_ones_kept(sglang_shaped_factory, monkeypatch):
    peer = sglang_shaped_factory(api_key=KEY)
    app = app_for(peer)
    async with app.run_test(size=(100, 40)) as pilot:
        await send_and_wait(pilot, app.pane, "old question")
        await until(pilot, lambda: saved.list_chats(), "the chat to be saved")
    [old] = saved.list_chats()
    month_ago = time.time() - 31 * 86400
    os.utime(old.path, (month_ago, month_ago))
    monkeypatch.setenv("GPT_OSS_CONSOLE_CHAT_DAYS", "30")
    app = app_for(peer)
    async with app.run_test(size=(100, 40)) as pilot:
        await until(pilot, lambda: not old.path.exists(), "the 31-day-old chat to be pruned")
        await pilot.pause(0.2)
        assert not app.pane.query(SavedChatsList)  # nothing left to offer
    monkeypatch.setenv("GPT_OSS_CONSOLE_CHAT_DAYS", "soon")
    app = app_for(peer)
    async with app.run_test(size=(100, 40)) as pilot:
        await until(pilot, lambda: any("GPT_OSS_CONSOLE_CHAT_DAYS" in n.message for n in app._notifications),
                    "a sentence about the bad retention")


def test_listing_skips_what_is_not_a_chat(tmp_path):
    folder = tmp_path / "chats"
    folder.mkdir()
    (folder / "broken.jsonl").write_text('{"kind": "turn", "index": 0, "user": "x"\n')
    (folder / "notes.txt").write_text("hello")
    (folder / "ok.jsonl").write_text(json.dumps({"kind": "session", "version": 1, "settings": {"model": "m"}}) + "\n"
                                     + json.dumps({"kind": "turn", "index": 0, "user": "hi\nthere"}) + "\n")
    chats = saved.list_chats(folder)
    assert [(c.path.name, c.title, c.model, c.turns) for c in chats] == [("ok.jsonl", "hi there", "m", 1)]
    assert saved.prune(1, now=time.time() + 2 * 86400, folder=folder) == 1 and not saved.list_chats(folder)
