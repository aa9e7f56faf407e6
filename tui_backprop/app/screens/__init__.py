"""The screens around the stepping view: picker, error, help, bug chooser, check settings, and
``AnswersOnce``, which every screen the app pushes mixes in."""
