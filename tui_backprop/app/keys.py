"""Every key the app answers to, in one place: the footer, the help screen and the palette read it.

Debugger habits first (``n`` next, ``p`` previous, ``c`` continue, ``b`` breakpoint, ``?`` help,
``q`` quit), VS Code's F5/F9/F10/F11 as aliases, and gdb's reverse-continue on ``C``. Each binding
has an ``id`` (so keys can be remapped) and a ``tooltip`` that the help screen shows as its line.
"""

from __future__ import annotations

from textual.binding import Binding

HELP = Binding(
    "question_mark,f1", "app.help", "Help", key_display="?", id="app.help", tooltip="This help: every key"
)
"""On every screen; early in the stepping screen's keys too, so a narrow footer still shows it."""

DEBUGGER = [
    Binding(
        "n,s,right,f10,f11",
        "app.step(1)",
        "Next",
        key_display="n",
        id="step.next",
        tooltip="Next step: forward through every op, then backward through them",
    ),
    Binding(
        "p,left,shift+f11",
        "app.step(-1)",
        "Prev",
        key_display="p",
        id="step.prev",
        tooltip="Previous step: going back hides what was not computed yet",
    ),
    Binding(
        "c,f5",
        "app.continue_run(1)",
        "Cont",
        key_display="c",
        id="step.continue",
        tooltip="Continue to the next breakpoint, or to the next node whose gradient mismatches",
    ),
    Binding(
        "C,shift+f5",
        "app.continue_run(-1)",
        "Reverse continue",
        show=False,
        id="step.reverse_continue",
        tooltip="Reverse-continue: back to the previous breakpoint or mismatch",
    ),
    Binding(
        "b,f9",
        "app.toggle_breakpoint",
        "Break",
        key_display="b",
        id="step.breakpoint",
        tooltip="Toggle a breakpoint on the node under the list cursor",
    ),
    HELP,
    Binding(
        "home,[",
        "app.jump('forward_start')",
        "Forward start",
        show=False,
        id="jump.forward_start",
        tooltip="Jump to the start of the forward pass",
    ),
    Binding(
        "]",
        "app.jump('forward_end')",
        "Forward end",
        show=False,
        id="jump.forward_end",
        tooltip="Jump to the end of the forward pass",
    ),
    Binding(
        "{",
        "app.jump('backward_start')",
        "Backward start",
        show=False,
        id="jump.backward_start",
        tooltip="Jump to the start of the backward pass",
    ),
    Binding(
        "end,}",
        "app.jump('backward_end')",
        "Backward end",
        show=False,
        id="jump.backward_end",
        tooltip="Jump to the end of the backward pass",
    ),
    Binding(
        "space",
        "app.play",
        "Play",
        id="play.toggle",
        tooltip="Play or pause the steps (to a breakpoint or the end), or training's iterations",
    ),
    Binding(
        "+,=", "app.pace(-1)", "Faster", show=False, id="play.faster", tooltip="Step faster while playing"
    ),
    Binding("-", "app.pace(1)", "Slower", show=False, id="play.slower", tooltip="Step slower while playing"),
    Binding(
        "v",
        "app.view_tensor",
        "View",
        id="view.tensor",
        tooltip="Full, scrollable view of the node's tensors and every mismatching element",
    ),
    Binding(
        "g",
        "app.toggle_circuit",
        "Circuit",
        id="teach.circuit",
        tooltip="Circuit view: the graph as gates and wires, values above, gradients below (again: the list)",
    ),
    Binding(
        "P",
        "app.presenter",
        "Presenter mode",
        show=False,
        id="teach.presenter",
        tooltip="Presenter mode: the current step as one large high-contrast card (Esc returns)",
    ),
    Binding(
        "greater_than_sign",
        "app.digits(1)",
        "More digits",
        show=False,
        key_display=">",
        id="teach.more_digits",
        tooltip="Show one more significant digit everywhere (up to 17)",
    ),
    Binding(
        "less_than_sign",
        "app.digits(-1)",
        "Fewer digits",
        show=False,
        key_display="<",
        id="teach.fewer_digits",
        tooltip="Show one significant digit fewer everywhere (down to 3)",
    ),
    Binding(
        "A",
        "app.toggle_spoilers",
        "Show all check results",
        show=False,
        id="teach.spoilers",
        tooltip="Show every check result at once (asked first); by default each waits for its step",
    ),
    Binding(
        "X",
        "app.reveal_bug",
        "Reveal the bug",
        show=False,
        id="teach.reveal",
        tooltip="Mystery-bug mode: show the bug's name and description (asked first)",
    ),
    Binding(
        "x",
        "app.choose_bug",
        "Bug",
        id="scenario.bug",
        tooltip="Switch a named bug of the scenario on or off",
    ),
    Binding(
        "t",
        "app.toggle_dtype",
        "dtype",
        show=False,
        id="check.dtype",
        tooltip="Switch between float64 and float32 (rebuilds the trace)",
    ),
    Binding(
        "e",
        "app.edit_settings",
        "Tolerances",
        show=False,
        id="check.settings",
        tooltip="Change the check's eps, rtol and atol",
    ),
    Binding(
        "r",
        "app.rerun_check",
        "Re-check",
        show=False,
        id="check.rerun",
        tooltip="Run the numeric gradient check again",
    ),
]
"""The stepping screen's keys."""

EXPLORE = [
    Binding(
        "i",
        "app.edit_value",
        "Edit value",
        show=False,
        id="explore.edit",
        tooltip="Edit a leaf's value (an input or param; one element, or a list for a small tensor)",
    ),
    Binding(
        "h",
        "app.nudge",
        "Nudge",
        show=False,
        id="explore.nudge",
        tooltip="Nudge a leaf element by +h and compare ΔL/h with the gradient",
    ),
    Binding(
        "u",
        "app.undo_edit",
        "Undo edit",
        show=False,
        id="explore.undo",
        tooltip="Undo the last edit or nudge",
    ),
    Binding(
        "z",
        "app.step_size_explorer",
        "Step-size explorer",
        show=False,
        id="explore.eps",
        tooltip="Relative error against eps, float64 and float32, for the node's gradient",
    ),
    Binding(
        "a",
        "app.toggle_quiz",
        "Quiz mode",
        show=False,
        id="explore.quiz",
        tooltip="Quiz mode: the next value or gradient is hidden; type it (a number or arithmetic)",
    ),
    Binding(
        "m",
        "app.toggle_bookmark",
        "Bookmark",
        show=False,
        id="lesson.bookmark",
        tooltip="Bookmark this step with a one-line note (again: remove it)",
    ),
    Binding(
        "apostrophe",
        "app.next_bookmark(1)",
        "Next bookmark",
        show=False,
        id="lesson.next",
        tooltip="Jump to the next bookmark and show its note",
    ),
    Binding(
        "quotation_mark",
        "app.next_bookmark(-1)",
        "Previous bookmark",
        show=False,
        id="lesson.prev",
        tooltip="Jump to the previous bookmark and show its note",
    ),
    Binding(
        "M",
        "app.save_handout",
        "Save handout",
        show=False,
        id="lesson.handout",
        tooltip="Write a Markdown handout: the bookmarked steps with their notes (every step if none)",
    ),
    Binding(
        "ctrl+s",
        "app.save_lesson",
        "Save as lesson",
        show=False,
        id="lesson.save",
        tooltip="Save scenario, bug, dtype, edited values, bookmarks and step as a lesson .toml",
    ),
]
"""Playing with the graph and teaching with it (README "Explore it live")."""
DEBUGGER += EXPLORE

ELEMENT = [
    Binding(
        "H",
        "app.move_element(0, -1)",
        "Element left",
        show=False,
        id="element.left",
        tooltip="Follow the element to the left in the tensor looked at (its previous column)",
    ),
    Binding(
        "L",
        "app.move_element(0, 1)",
        "Element right",
        show=False,
        id="element.right",
        tooltip="Follow the element to the right in the tensor looked at (its next column)",
    ),
    Binding(
        "K",
        "app.move_element(-1, 0)",
        "Element up",
        show=False,
        id="element.up",
        tooltip="Follow the element above in the tensor looked at (its previous row)",
    ),
    Binding(
        "J",
        "app.move_element(1, 0)",
        "Element down",
        show=False,
        id="element.down",
        tooltip="Follow the element below in the tensor looked at (its next row)",
    ),
    Binding(
        "f",
        "app.follow_element",
        "Follow element",
        show=False,
        id="element.follow",
        tooltip="Type the element every view follows: W1[1, 0], or [1, 0] in the tensor looked at",
    ),
]
"""The element cursor (README "Teaching with it"): which element of a tensor every view follows."""
DEBUGGER += ELEMENT

TRAINING = [
    Binding(
        "T",
        "app.train",
        "Train",
        show=False,
        id="train.run",
        tooltip="Train N more iterations (forward, backward, update each) and draw the loss curve",
    ),
    Binding(
        "l",
        "app.learning_rate",
        "Learning rate",
        show=False,
        id="train.lr",
        tooltip="Set the learning rate and momentum of the update step (lr 0.05 momentum 0.9)",
    ),
    Binding(
        "full_stop",
        "app.iteration(1)",
        "Next iteration",
        show=False,
        key_display=".",
        id="train.next",
        tooltip="The next training iteration, at the same step (Space plays them)",
    ),
    Binding(
        "comma",
        "app.iteration(-1)",
        "Previous iteration",
        show=False,
        key_display=",",
        id="train.prev",
        tooltip="The previous training iteration, at the same step",
    ),
]
"""The update step and training (README "Teaching with it"); past the backward pass ``n`` steps on."""
DEBUGGER += TRAINING

GLOBAL = [
    Binding("o", "app.open_picker", "Open", show=False, id="app.open", tooltip="Open the scenario picker"),
    HELP,
    Binding("q,ctrl+q", "app.quit", "Quit", key_display="q", id="app.quit", tooltip="Quit"),
]
"""Keys that work on every screen."""

NODE_LIST = [
    ("↑ ↓  k j", "Move the list cursor; the inspector peeks at that node at the current step"),
    ("PgUp PgDn", "Move the list cursor by a page"),
    ("Enter, click", "Jump to the node's step in this phase; again: its step in the other phase"),
    ("Tab", "Move focus between the node list and the inspector (↑ ↓ then scroll it)"),
    ("ctrl+p", "Command palette: every action by name, scenarios, bugs, dtype, eps and tolerances"),
]
"""Keys of focused widgets, listed in the help screen."""

SECTIONS = [
    ("Stepping", ["step.next", "step.prev", "step.continue", "step.reverse_continue", "step.breakpoint"]),
    ("Jumping", ["jump.forward_start", "jump.forward_end", "jump.backward_start", "jump.backward_end"]),
    ("Playing", ["play.toggle", "play.faster", "play.slower"]),
    ("Looking", ["view.tensor"]),
    (
        "Following an element",
        ["element.left", "element.right", "element.up", "element.down", "element.follow"],
    ),
    (
        "Teaching",
        [
            "teach.circuit",
            "teach.presenter",
            "teach.more_digits",
            "teach.fewer_digits",
            "teach.spoilers",
            "teach.reveal",
        ],
    ),
    ("Scenario and check", ["scenario.bug", "check.dtype", "check.settings", "check.rerun", "app.open"]),
    ("Exploring", ["explore.edit", "explore.nudge", "explore.undo", "explore.eps", "explore.quiz"]),
    ("Training", ["train.run", "train.lr", "train.next", "train.prev"]),
    ("Lessons", ["lesson.bookmark", "lesson.next", "lesson.prev", "lesson.save", "lesson.handout"]),
    ("App", ["app.help", "app.quit"]),
]


PALETTE_NAMES = {"teach.circuit": "Circuit view", "teach.presenter": "Presenter mode"}
"""Names in the command palette where the footer's short description would say less."""


def by_id() -> dict[str, Binding]:
    return {b.id: b for b in DEBUGGER + GLOBAL if b.id}


def every() -> list[Binding]:
    """Each binding once (``HELP`` is in two lists)."""
    return list({id(b): b for b in DEBUGGER + GLOBAL}.values())


KEY_NAMES = {
    "right": "→",
    "left": "←",
    "space": "Space",
    "home": "Home",
    "end": "End",
    "question_mark": "?",
    "apostrophe": "'",
    "quotation_mark": '"',
    "shift+f5": "shift+F5",
    "shift+f11": "shift+F11",
    "greater_than_sign": ">",
    "less_than_sign": "<",
    "full_stop": ".",
    "comma": ",",
}


def keys_of(binding: Binding) -> str:
    """``n  s  →  F10  F11``: every key of a binding as a user types it."""
    names = []
    for key in binding.key.split(","):
        key = key.strip()
        name = KEY_NAMES.get(key) or (key.upper() if key.startswith("f") and key[1:].isdigit() else key)
        names.append(name)
    return "  ".join(names)
