"""Saving to a typed path: every hostile path refused in one line, every save whole or not at all
(``teach/saving.py``; the app's save dialogs call these)."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_backprop.teach.lesson import Lesson, load, save
from tui_backprop.teach.saving import (
    SaveRefusedError,
    SaveTarget,
    download_name,
    save_target,
    write_atomically,
)


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def refused(typed: str, **kw) -> str:
    with pytest.raises(SaveRefusedError) as caught:
        save_target(typed, **kw)
    message = str(caught.value)
    assert "\n" not in message and message
    return message


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("", "type a path"),
        ("   ", "type a path"),
        (".", "is a folder: add a file name"),
        ("/", "is a folder: add a file name"),
        ("..", "is a folder"),
        ("sub/", "is a folder"),
        ("~nosuchuser/x.toml", "there is no user named 'nosuchuser'"),
        ("a\x00b.toml", "control characters"),
        ("a\nb.toml", "control characters"),
        ("scenario.py", "a .py file may be someone's code"),
        ("missing/x.toml", "there is no folder"),
        ("x" * 300 + ".toml", "too long"),
    ],
)
def test_hostile_paths_are_refused_in_one_line(folder, typed, why):
    (folder / "sub").mkdir()
    assert why in refused(typed, suffix=".toml")


def test_a_fifo_a_socket_and_a_directory_named_like_the_file_are_refused(folder):
    os.mkfifo(folder / "pipe.md")
    assert "is a FIFO (named pipe), not a file" in refused("pipe.md")
    (folder / "dir.md").mkdir()
    assert "is a folder" in refused("dir.md")
    if hasattr(os, "mkfifo"):
        import socket

        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(folder / "sock.md"))
            assert "is a socket" in refused("sock.md")


def test_the_open_scenario_and_links_to_code_are_never_saved_over(folder):
    scenario = folder / "mine.py"
    scenario.write_text("# the author's code\n")
    (folder / "notes.toml").symlink_to(scenario)
    assert "never saved over" in refused("notes.toml", suffix=".toml")
    lesson = folder / "open.toml"
    lesson.write_text("# hand-written\n")
    assert "the open scenario's own file" in refused("open.toml", protected=[lesson])
    assert scenario.read_text() == "# the author's code\n"


def test_a_folder_we_may_not_write_in_is_refused(folder):
    if os.geteuid() == 0:
        pytest.skip("root may write anywhere")
    locked = folder / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    assert "may not write in" in refused("locked/x.md")


def test_a_path_is_made_absolute_given_its_suffix_and_an_existing_file_is_reported(folder):
    assert save_target("out", suffix=".toml") == SaveTarget(folder / "out.toml", exists=False)
    assert save_target("~/x.md").path == Path.home() / "x.md"
    (folder / "old.toml").write_text("# mine\n")
    assert save_target("old.toml").exists


def test_an_atomic_write_replaces_the_file_whole_and_keeps_its_permissions(folder):
    path = folder / "handout.md"
    path.write_text("old")
    path.chmod(0o640)
    assert write_atomically(save_target("handout.md"), "new ✓") == path
    assert path.read_text(encoding="utf-8") == "new ✓"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(os.listdir(folder)) == ["handout.md"]  # no temporary file left


def test_a_fifo_swapped_in_after_the_check_is_replaced_not_opened(folder):
    target = save_target("late.md")
    os.mkfifo(target.path)  # put there after the check: a plain open() would block for ever
    done = threading.Event()

    def write() -> None:
        write_atomically(target, "text")
        done.set()

    threading.Thread(target=write, daemon=True).start()
    assert done.wait(10), "the write blocked on a FIFO"
    assert stat.S_ISREG(os.lstat(target.path).st_mode) and target.path.read_text() == "text"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(folder, monkeypatch):
    path = folder / "keep.md"
    path.write_text("whole")

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(SaveRefusedError, match="No space left on device"):
        write_atomically(save_target("keep.md"), "half")
    assert path.read_text() == "whole" and os.listdir(folder) == ["keep.md"]


def test_saving_a_lesson_never_replaces_one_unless_asked(folder):
    lesson = Lesson("sigmoid-chain", bug="reciprocal-sign")
    (folder / "class.toml").write_text("# hand-written, with comments\n")
    with pytest.raises(SaveRefusedError, match="exists: choose another name"):
        save(lesson, "class.toml")
    assert (folder / "class.toml").read_text() == "# hand-written, with comments\n"
    assert save(lesson, "class.toml", replace=True) == folder / "class.toml"
    assert load(folder / "class.toml")[0].bug == "reciprocal-sign"
    with pytest.raises(SaveRefusedError, match="never saved over"):
        save(lesson, "sigmoid_chain.py")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_typed_text_is_a_target_or_a_refusal(tmp_path_factory, typed):
    folder = tmp_path_factory.mktemp("typed")
    try:
        target = save_target(typed, suffix=".toml", cwd=folder)
    except SaveRefusedError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert target.path.is_absolute() and target.path.suffix == ".toml"
        assert target.path.parent.is_dir()


@pytest.mark.parametrize(
    ("typed", "suffix", "name"),
    [
        ("class", ".toml", "class.toml"),
        ("notes.txt", ".toml", "notes.toml"),
        ("/etc/passwd", None, "passwd"),
        ("..\\..\\win.ini", None, "win.ini"),
        ("~nosuchuser/handout.md", None, "handout.md"),
        ("  spaced.md  ", None, "spaced.md"),
    ],
)
def test_a_download_is_named_by_the_file_name_typed_without_its_folders(typed, suffix, name):
    assert download_name(typed, suffix=suffix) == name


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("", "type a file name"),
        ("/", "type a file name"),
        ("..", "type a file name"),
        ("a\x00b", "control"),
        ("x" * 300, "at most 255 bytes"),
    ],
)
def test_a_download_name_that_no_browser_could_save_is_refused_in_one_line(typed, why):
    with pytest.raises(SaveRefusedError) as caught:
        download_name(typed, suffix=".toml")
    assert why in str(caught.value) and "\n" not in str(caught.value)
