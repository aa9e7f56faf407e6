"""What the teaching keys ask before they act: the element to follow (``f``), how many iterations to
train (``T``), the learning rate (``l``), and a yes or no before anything that shows a class the
answers: every check result at once (``A``: caps lock turns the quiz's ``a`` into it) and a mystery
bug's name (``X``) (README "Teaching with it").

``Asking`` pushes the screen and hands what the user answers to the services; it sees the App only
through ``Host`` (no module of the app imports the App).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from tui_backprop.app.model.elements import Elements
    from tui_backprop.app.model.model import Model
    from tui_backprop.app.train.service import Trainer

SPOILERS = "Every verdict and every blame, before its step is reached: the class sees the answers."
REVEAL = "Its name and description appear on every screen, until another bug is switched on."


class Host(Protocol):
    """What the questions need of the app: the model, the element cursor, the trainer, and pushing
    a screen."""

    model: Model
    elements: Elements
    trainer: Trainer

    def push_screen(self, screen: Any, callback: Callable[[Any], None] | None = None) -> Any: ...


class Asking:
    """The prompts and the yes-or-no questions of the teaching keys."""

    def __init__(self, host: Host) -> None:
        self.host = host

    def follow(self) -> None:
        """Type the element to follow: ``W1[1, 0]``, ``[1, 0]``, or a name alone for its default."""
        from tui_backprop.app.explore.screens import FollowScreen

        host = self.host
        if host.model.session is not None:
            host.push_screen(FollowScreen(host.elements.prefill(), host.elements.follow))

    def train(self) -> None:
        """How many iterations to train (in the background, once answered)."""
        from tui_backprop.app.explore.screens import TrainScreen

        trainer = self.host.trainer
        summary = trainer.train_summary()
        if summary is not None:
            self.host.push_screen(TrainScreen("20", summary, trainer.train_typed))

    def learning_rate(self) -> None:
        """The learning rate and momentum of the update step."""
        from tui_backprop.app.explore.screens import LearningRateScreen

        trainer = self.host.trainer
        if self.host.model.session is not None:
            self.host.push_screen(LearningRateScreen(trainer.optimizer_text(), trainer.set_from_text))

    def show_all(self) -> None:
        """Every check result at once, once confirmed; back to each at its step without a question."""
        from tui_backprop.app.screens.confirm import ConfirmScreen

        model = self.host.model

        def switch(yes: bool = True) -> None:
            if yes:
                model.set_show_all(not model.show_all)
                every = "every check result shown"
                model.notify(
                    every if model.show_all else "check results shown as their steps are reached", timeout=2
                )

        if model.show_all:
            switch()
            return
        self.host.push_screen(
            ConfirmScreen("Show every check result now?", SPOILERS, "Show them", "Keep them"), switch
        )

    def reveal_bug(self) -> None:
        """Mystery-bug mode: the bug's name and description, once confirmed."""
        from tui_backprop.app.screens.confirm import ConfirmScreen

        model = self.host.model
        if not model.secret:
            model.notify("no mystery: the bugs are named already", timeout=2)
            return
        question = ConfirmScreen("Reveal the bug?", REVEAL, "Reveal it", "Keep the mystery")
        self.host.push_screen(question, lambda yes: model.reveal() if yes else None)
