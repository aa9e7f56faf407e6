"""The picker lists every scenario that loads and says which plugin did not, in a row of its own."""

from __future__ import annotations

from app_support import settle, sync
from plugin_support import install_plugins

from tui_backprop.app.app import make_app
from tui_backprop.app.screens.picker import PickerScreen

GOOD = '''"""A good plugin

It works."""
from tui_backprop import ops

def build(g, bug=None):
    return ops.sum(ops.square(g.input("x", [1.0, 2.0]), name="sq"), name="L")
'''


def test_a_plugin_that_fails_to_import_is_a_row_of_the_picker_and_the_rest_still_open(tmp_path, monkeypatch):
    install_plugins(
        tmp_path,
        monkeypatch,
        {"good-plugin": "good_plugin", "broken-plugin": "broken_plugin"},
        {"good_plugin": GOOD, "broken_plugin": "import no_such_module_at_all\n"},
    )

    @sync
    async def run():
        app = make_app(None)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            assert isinstance(app.screen, PickerScreen)
            options = app.screen.query_one("#scenarios").options
            ids = [option.id for option in options if option.id]
            assert ids[-1] == "good-plugin"
            failed = [str(option.prompt) for option in options if option.disabled]
            assert len(failed) == 1
            assert (
                "not loaded: " in failed[0]
                and "'broken-plugin' (broken_plugin) failed to import" in failed[0]
            )
            app.screen.query_one("#scenarios").highlighted = [o.id for o in options].index("good-plugin")
            await pilot.press("enter")
            await settle(app, pilot)
            assert app.model.session is not None and app.model.session.scenario.slug == "good-plugin"

    run()
