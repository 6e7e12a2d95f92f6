"""The Launch form's Engine selector: a choice among console.engines' names, first in the form; the
chosen engine's own settings (declared in its package) show beside the common ones, the others'
do not, and what is typed into them is an edit like any other (the launch reads it)."""

from __future__ import annotations

import pytest

from console import engines
from console.ui.launch.pane import LaunchPane
from tests.fixtures.docker_engine import free_port
from tests.fixtures.docker_engine import test_name as unique_name
from tests.test_engines_launch import absent_default_llamacpp_image
from tests.test_launch_pane import LaunchApp
from tests.ui_helpers import screen_text, until


def own_settings(name: str) -> list:
    from console.settings.spec import BY_KEY

    return [s for s in engines.get(name).settings if s.key not in BY_KEY]


async def test_the_engine_selector_shows_that_engines_own_settings():
    app = LaunchApp()
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(LaunchPane)
        await pilot.pause()
        select = pane.query_one("#f-engine")
        assert [value for _, value in select._options if value is not select.NULL] == engines.names()
        assert select.value == "sglang"
        first_row = pane.query(".launch-row").first()
        assert first_row.id == "row-engine"  # it decides what follows
        assert not any(box.display for box in pane.query(".engine-own"))
        for name in ("vllm", "llamacpp"):
            select.value = name
            await until(pilot, lambda n=name: pane.query_one(f"#engine-own-{n}").display, f"{name}'s settings")
            others = [b.id for b in pane.query(".engine-own") if b.display]
            assert others == [f"engine-own-{name}"]
            label = engines.get(name).label
            pane.query_one(f"#engine-own-{name}").scroll_visible(animate=False)
            await pilot.pause()
            assert f"{label}'s own settings" in screen_text(app)
            for s in own_settings(name):
                row = pane.query_one(f"#row-{s.key}")
                label = row.query_one(".launch-label")
                # whole: a label longer than its column takes a second row instead of being cut
                assert row.display and str(label.render()) == s.title
                assert label.size.height >= -(-len(s.title) // label.content_size.width), s.title
        # a value typed into an engine's own setting is an edit the launch reads
        threads = own_settings("llamacpp")[[s.key for s in own_settings("llamacpp")].index("threads")]
        pane.query_one(f"#f-{threads.key}").focus()
        await pilot.press(*"12")
        await until(pilot, lambda: pane.edits.get("threads") == "12", "the edit")
        assert pane.edits["engine"] == "llamacpp"
        select.value = "sglang"
        await until(pilot, lambda: not any(box.display for box in pane.query(".engine-own")), "SGLang: none")


@pytest.mark.docker
async def test_launching_llamacpp_without_its_image_says_how_to_build_or_tag_it(docker_client):
    """F5 with the engine llama.cpp and its stock image (a local name) not on the Docker Engine: the
    side panel says what the CLI says, in the same words (one path: console.runtime.errors)."""
    from console.engines.llamacpp import OBTAIN

    image = absent_default_llamacpp_image(docker_client)
    name = unique_name("llimg")
    env = {"GPT_OSS_ENGINE": "llamacpp", "MODEL": "/models/x.gguf", "GPT_OSS_GPUS": "none",
           "GPT_OSS_HF_CACHE": "none", "GPT_OSS_CONTAINER_NAME": name, "GPT_OSS_HOST_PORT": str(free_port())}
    app = LaunchApp(env=env)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(LaunchPane)
        await pilot.pause()
        assert pane.spec.image == image and pane.spec.mode == "stock"
        await pilot.press("f5")
        info = pane.query_one("#launch-info")
        await until(pilot, lambda: "launch failed" in str(info.render()), "the launch's failure in the side panel")
        text = str(info.render())
        assert f"launch failed: image {image} is not on this Docker host" in text
        assert f"→ {OBTAIN}" in text and "Traceback" not in text
        assert pane.monitor is None
    assert not docker_client.containers.list(all=True, filters={"name": name})
