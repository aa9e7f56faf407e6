"""The app driven by keys: stepping every scenario there and back, the screens, the palette, resizing."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_support import settle, sync

from tui_backprop.app import keys
from tui_backprop.app.app import BackpropApp, make_app
from tui_backprop.app.debugger.node_list import NodeList
from tui_backprop.app.engine import Overrides
from tui_backprop.app.inspector.tensor_screen import GridView, TensorScreen
from tui_backprop.app.inspector.text_view import TextView
from tui_backprop.app.screens.choices import BugScreen, SettingsScreen
from tui_backprop.app.screens.error import ErrorScreen
from tui_backprop.app.screens.help import HelpScreen
from tui_backprop.app.screens.picker import PickerScreen

SCENARIOS = ["sigmoid-chain", "l1-mse", "two-layer-net", "softmax", "deep-mlp", "digits"]
FILES = Path(__file__).parent / "scenario_files"


def inspector(app: BackpropApp) -> str:
    return app.debugger.query_one(TextView).plain


def snapshot(app: BackpropApp) -> tuple[str, list, str]:
    """What the stepping screen says: inspector, list rows, status line."""
    status = str(app.debugger.query_one("#status").render())
    return inspector(app), list(app.debugger.query_one(NodeList).states), status


@pytest.mark.parametrize("slug", SCENARIOS)
@sync
async def test_every_scenario_steps_to_the_end_and_back_restoring_each_screen(slug):
    app = make_app(slug)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        session = app.model.session
        assert session is not None and session.step == 0
        output = session.trace.output.name
        assert f"{output} = ?" in snapshot(app)[2]
        forward = []
        for _ in range(session.n_steps - 1):
            forward.append(snapshot(app))
            await pilot.press("n")
        forward.append(snapshot(app))
        assert session.step == session.n_steps - 1
        assert "backward" in forward[-1][2] and f"{output} = ?" not in forward[-1][2]
        await pilot.press("n")  # past the end: the update phase (with parameters to train), else nothing
        assert session.step == session.n_steps - 1
        if session.params:
            assert session.update == 0 and "update 1/" in snapshot(app)[2]
            await pilot.press("p")
        assert session.update is None
        backward = [snapshot(app)]
        for _ in range(session.n_steps - 1):
            await pilot.press("p")
            backward.append(snapshot(app))
        assert session.step == 0
        assert backward[::-1] == forward


@sync
async def test_the_inspector_tells_forward_from_backward_at_chosen_steps():
    app = make_app("sigmoid-chain")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert "a = 2 · 3 = 6" in inspector(app) and "not reached yet" in inspector(app)
        await pilot.press("{")  # start of the backward pass: f = 1/e
        text = inspector(app)
        assert "backward step 7 of 12" in text and "∂f/∂e = -1/e² = -1/1.135² = -0.7758" in text
        await pilot.press("end")
        assert "sends dL/dx = dL/da · ∂a/∂x = 0.105 · 3 = 0.315" in inspector(app)
        await pilot.press("]")
        assert "forward step 6 of 12" in inspector(app)
        await pilot.press("home")
        assert "forward step 1 of 12" in inspector(app)


@sync
async def test_continue_goes_to_the_blamed_node_and_its_row_stands_out():
    app = make_app("two-layer-net", "sigmoid-missing-factor")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("c")
        session = app.model.session
        assert session.current.node == "a2" and session.phase == "backward"
        assert "BLAMED" in inspector(app)
        row = next(s for s in app.debugger.query_one(NodeList).states if s.name == "a2")
        assert row.status == "blame"
        assert "blame a2" in snapshot(app)[2]
        await pilot.press("f5")  # the next stop: a2's inputs inherit the mismatch
        assert session.step > session.step_of("a2", "backward")
        await pilot.press("C")  # reverse-continue
        assert session.current.node == "a2"


@sync
async def test_a_breakpoint_stops_continue_and_play():
    app = make_app("sigmoid-chain")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("n", "n", "b", "home")  # breakpoint on c
        assert app.model.session.breakpoints == {"c"}
        await pilot.press("c")
        assert app.model.session.current.node == "c" and app.model.session.phase == "forward"
        await pilot.press("home", "space")
        assert app.model.playing and app.play_timer is not None
        for _ in range(5):
            app.stepper.tick()  # the timer's work, without waiting for it; a late tick does nothing
        assert not app.model.playing and app.model.session.current.node == "c"
        assert app.play_timer is None


@sync
async def test_selecting_a_node_jumps_to_its_step_and_a_leaf_is_peeked_at():
    app = make_app("sigmoid-chain")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        session = app.model.session
        await pilot.press("down", "down")  # the list cursor moves from a to c
        assert session.step == 0
        assert inspector(app).startswith("c ") and "peeking" in inspector(app)
        await pilot.press("enter")
        assert session.step == session.step_of("c", "forward")
        await pilot.press("enter")
        assert session.step == session.step_of("c", "backward")
        for _ in range(6):
            await pilot.press("up")  # to the leaf x at the top
        assert inspector(app).startswith("x ") and session.step == session.step_of("c", "backward")
        await pilot.press("enter")
        assert session.step == session.step_of("c", "backward")  # a leaf has no step: still here
        await pilot.press("n")  # stepping brings the cursor back to the step's node
        assert inspector(app).startswith(session.node_name + " ")


@sync
async def test_clicking_a_row_selects_its_node():
    app = make_app("sigmoid-chain")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.click(NodeList, offset=(5, 1 + 6))  # header, then x w0 w1 a b c d
        assert app.model.session.step == app.model.session.step_of("d", "forward")


@sync
async def test_without_a_scenario_the_picker_lists_every_builtin_and_enter_opens_one():
    app = make_app(None)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, PickerScreen)
        options = app.screen.query_one("#scenarios")
        assert [option.id for option in options.options][:6] == SCENARIOS
        await pilot.press("down", "enter")
        await settle(app, pilot)
        assert not isinstance(app.screen, PickerScreen)
        assert app.model.session.scenario.slug == "l1-mse"


@sync
async def test_at_80x24_the_picker_shows_every_scenario_and_the_footer_keeps_help():
    app = make_app(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        options = app.screen.query_one("#scenarios")
        shown = [o.id for o in options.options if o.id]
        assert shown == SCENARIOS and options.virtual_size.height <= options.scrollable_content_region.height
        await pilot.press("enter")
        await settle(app, pilot)
        for view in ("list", "circuit"):
            footer = app.screen.query_one("Footer")
            await pilot.pause()
            palette = footer.query_one(".-command-palette")  # docked right, over whatever runs past
            shown = [key for key in footer.children if key.region.right <= palette.region.x]
            text = "".join(str(key.render()) for key in shown)
            assert "Help" in text, (view, text)
            await pilot.press("g")


@pytest.mark.parametrize(
    ("name", "says"),
    [("syntax_error.py", "syntax error"), ("raises_on_import.py", "importing the scenario failed")],
)
@sync
async def test_a_scenario_that_fails_shows_its_file_and_line_and_the_picker_is_one_key_away(name, says):
    path = str(FILES / name)
    app = make_app(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, ErrorScreen)
        text = str(app.screen.query_one("#error-text").render())
        assert says in text
        assert f"{name}:" in text  # file:line
        assert "→" in text  # the failing line of the author's code
        await pilot.press("o")
        await settle(app, pilot)
        assert isinstance(app.screen, PickerScreen)


@sync
async def test_a_failed_reload_keeps_the_last_good_trace_and_a_good_one_keeps_the_place():
    app = make_app("sigmoid-chain")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("{", "n", "n")  # backward through d
        assert app.model.session.current.node == "d"
        app.loader.open(str(FILES / "syntax_error.py"), keep_position=True)
        await settle(app, pilot)
        assert isinstance(app.screen, ErrorScreen)
        await pilot.press("escape")
        assert app.model.session.scenario.slug == "sigmoid-chain" and app.model.session.current.node == "d"
        app.loader.open("sigmoid-chain", "exp-uses-input", keep_position=True)
        await settle(app, pilot)
        assert app.model.session.bug == "exp-uses-input"
        assert (app.model.session.current.node, app.model.session.phase) == ("d", "backward")


@sync
async def test_load_trace_is_the_reload_hook_and_show_error_leaves_the_trace_alone():
    from tui_backprop.app.engine import Failure
    from tui_backprop.core import scenarios
    from tui_backprop.core.errors import ScenarioError
    from tui_backprop.core.graph import Origin

    app = make_app("l1-mse")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("]", "b")  # end of the forward pass (loss), breakpoint there
        scenario = scenarios.load("l1-mse")
        trace = scenarios.trace_scenario(scenario, "mse-missing-2")
        app.loader.show(scenario, trace, "mse-missing-2", "float64")
        await settle(app, pilot)
        assert app.model.session.bug == "mse-missing-2" and app.model.session.current.node == "loss"
        assert app.model.session.breakpoints == {"loss"}
        assert app.model.session.blamed == ["sq"]
        app.loader.fail(Failure("boom", str(FILES / "syntax_error.py"), 3))
        await pilot.pause()
        assert isinstance(app.screen, ErrorScreen) and app.model.session.bug == "mse-missing-2"
        app.loader.fail(ScenarioError("bang", Origin(str(FILES / "syntax_error.py"), 1)))
        await pilot.pause()
        assert "bang" in str(app.screen.query_one("#error-text").render())
        await pilot.press("escape")
        assert app.model.session.bug == "mse-missing-2" and app.model.session.current.node == "loss"


@sync
async def test_bug_dtype_and_settings_can_be_changed_from_their_keys():
    app = make_app("softmax")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("x")
        assert isinstance(app.screen, BugScreen)
        await pilot.press("down", "enter")
        await settle(app, pilot)
        assert app.model.session.bug == "eps-denominator" and app.model.session.blamed == ["s"]
        await pilot.press("t")
        await settle(app, pilot)
        assert app.model.session.dtype == "float32" and app.model.session.bug == "eps-denominator"
        assert str(app.model.session.trace.values["s"].dtype) == "float32"
        await pilot.press("e")
        assert isinstance(app.screen, SettingsScreen)
        await pilot.press(*"0.01", "enter")
        await settle(app, pilot)
        assert app.model.overrides.eps == 0.01 and app.model.session.settings.eps == 0.01
        assert "eps 0.01" in snapshot(app)[2]


@sync
async def test_settings_refuse_a_value_that_is_not_a_positive_number():
    app = make_app("softmax")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("e", *"-1", "enter")
        assert isinstance(app.screen, SettingsScreen)
        assert "positive number" in str(app.screen.query_one("#settings-error").render())
        await pilot.press("escape")
        assert app.model.overrides == Overrides()


@sync
async def test_the_palette_sets_eps_from_what_is_typed_and_lists_every_action():
    from tui_backprop.app.commands import BackpropCommands

    app = make_app("sigmoid-chain")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        provider = BackpropCommands(app.screen)
        await provider.startup()
        names = [name for name, _, _ in provider._commands]
        for binding in keys.every():
            assert keys.PALETTE_NAMES.get(binding.id, binding.description) in names
        assert "Circuit view" in names and "Presenter mode" in names
        assert "Switch scenario: deep-mlp" in names
        assert "Toggle bug: reciprocal-sign" in names
        hits = [hit async for hit in provider.search("eps 1e-4")]
        assert str(hits[0].match_display) == "Set eps = 0.0001"
        hits[0].command()
        await settle(app, pilot)
        assert app.model.session.settings.eps == 1e-4


def test_every_binding_has_an_id_a_description_and_a_help_line():
    from tui_backprop.app.screens.help import help_text

    ids = [b.id for b in keys.every()]
    assert all(ids) and len(set(ids)) == len(ids)
    assert all(b.description and b.tooltip for b in keys.every())
    listed = {i for _, section in keys.SECTIONS for i in section}
    assert listed == set(ids)
    from rich.console import Console

    console = Console(width=120, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(help_text())
    rendered = console.export_text()
    for binding in keys.every():
        assert binding.tooltip in rendered


@sync
async def test_help_opens_on_question_mark_and_f1_and_closes_on_escape():
    app = make_app("sigmoid-chain")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        for key in ("question_mark", "f1"):
            await pilot.press(key)
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape")
            assert not isinstance(app.screen, HelpScreen)


@sync
async def test_the_full_tensor_view_of_a_deep_mlp_gradient_lists_its_mismatches():
    app = make_app("deep-mlp", "relu-passes-negatives")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("end", "v")
        assert isinstance(app.screen, TensorScreen)
        title = str(app.screen.query_one("#tensor-title").render())
        assert "value of z1" in title
        await pilot.press("tab")
        title = str(app.screen.query_one("#tensor-title").render())
        assert "dL/dz1 analytic" in title and "64 mismatch" in title
        differing = app.screen.query_one("#differing")
        assert len(differing.index) == 64
        grid = app.screen.query_one(GridView)
        assert grid.virtual_size.height == 128 + 1
        await pilot.press("pagedown", "escape")
        assert not isinstance(app.screen, TensorScreen)


@sync
async def test_a_tiny_terminal_collapses_to_the_inspector_and_grows_back():
    app = make_app("deep-mlp")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        nodes = app.debugger.query_one(NodeList)
        await pilot.resize_terminal(40, 12)
        await pilot.press("n", "n", "p")
        assert not nodes.display or nodes.region.width == 0
        assert app.debugger.query_one(TextView).region.width > 30
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert nodes.region.width > 20
