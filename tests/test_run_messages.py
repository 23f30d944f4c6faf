"""Issue 23, item 10: what ``run``, ``read`` and ``eval`` say when there is nothing (or
nothing good) to read, and that they load no model for it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipeline import assembly
from pipeline.cli import main
from pipeline.commands import run as run_command
from pipeline.store.sqlite_store import SqliteStore

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading the model fails the test: these commands must not need it."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(assembly, "build_reader", refuse)
    monkeypatch.setattr(run_command, "build_reader", refuse)


@pytest.mark.usefixtures("no_model")
def test_run_on_an_empty_folder_says_so_and_what_to_do(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """It said '0 frames' and exited 0, as if the folder had been read."""
    empty = tmp_path / "frames"
    empty.mkdir()
    db = str(tmp_path / "c.sqlite3")
    assert main(["--database", db, "run", "--source", str(empty)]) == 1
    err = capsys.readouterr().err
    assert f"folder {empty} is empty" in err and "give the folder" in err, err
    (empty / "notes.txt").write_text("x", encoding="utf-8")
    (empty / "clip.heic").write_bytes(b"x")
    assert main(["--database", db, "run", "--source", str(empty)]) == 1
    err = capsys.readouterr().err
    assert "holds no images" in err and "clip.heic, notes.txt" in err and ".jpg" in err, err


def test_the_summary_counts_unreadable_frames_among_all_frames(
        capsys: pytest.CaptureFixture[str]) -> None:
    """'10 frames (2 unreadable)' meant 10 read and 2 more that were not."""
    result = {"frames": 10, "corrupt_frames": 2, "seconds": 1.5, "recogniser": "kennzeichen_de",
              "arrivals": 1, "matched": 1, "unregistered": 0, "needs_review": 0,
              "published": 1, "undelivered": 0, "arrivals_not_stored": 0}
    run_command._print_run_summary(result)
    assert capsys.readouterr().out.startswith(
        "12 frames, 2 of them unreadable, in 1.5 s with kennzeichen_de: 1 arrivals")
    run_command._print_run_summary({**result, "corrupt_frames": 0})
    assert capsys.readouterr().out.startswith("10 frames in 1.5 s with kennzeichen_de:")


@pytest.mark.usefixtures("no_model")
def test_run_on_a_finished_folder_loads_no_model(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    """It said 'nothing to do' and then loaded the model (seconds, and a GB of memory)."""
    folder = tmp_path / "frames"
    folder.mkdir()
    shutil.copy(ROOT / "sample_frames" / "frame_0001.jpg", folder / "0001.jpg")
    db = tmp_path / "c.sqlite3"
    store = SqliteStore(db)
    store.save_checkpoint(str(folder.resolve()), 1, done=True)  # an earlier run got through
    store.close()
    assert main(["--database", str(db), "run", "--source", str(folder)]) == 0
    assert "processed completely before; nothing to do" in caplog.text
    assert capsys.readouterr().out == "0 frames read; 0 published, 0 waiting in the outbox\n"
    with pytest.raises(AssertionError, match="the model was loaded"):  # --restart reads again
        main(["--database", str(db), "run", "--source", str(folder), "--restart"])


@pytest.mark.usefixtures("no_model")
def test_eval_checks_the_labels_before_loading_the_model(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", str(ROOT / "sample_frames"), str(tmp_path)]) == 1
    assert "labels.csv" in capsys.readouterr().err


@pytest.mark.usefixtures("no_model")
def test_read_says_what_is_not_an_image_without_loading_the_model(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A folder given to read was 'no such file', after the model had loaded, and every
    problem was said twice (log and output)."""
    folder, missing = tmp_path / "photos", tmp_path / "nothere.jpg"
    folder.mkdir()
    assert main(["read", str(folder), str(missing)]) == 1
    captured = capsys.readouterr()
    assert captured.out == (f"{folder}: a folder: give the images in it ({folder}/*.jpg)\n"
                            f"{missing}: no such file\n")
    assert "no such file" not in captured.err
    assert main(["read", str(missing), "--json"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)[0]["error"] == "no such file"
    assert "no such file" in captured.err  # beside the JSON, a person reads stderr


@pytest.mark.usefixtures("no_model")
def test_a_run_against_a_database_without_plates_says_so_before_reading(
        tmp_path: Path, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 23 walkthrough: started from another folder, the default relative database path
    made a new, empty database, and every car came out unregistered without a word."""
    folder = tmp_path / "frames"
    folder.mkdir()
    shutil.copy(ROOT / "sample_frames" / "frame_0001.jpg", folder / "0001.jpg")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AssertionError, match="the model was loaded"):
        main(["--database", "c.sqlite3", "run", "--source", str(folder)])
    assert f"{tmp_path / 'c.sqlite3'} holds no registered plates" in caplog.text
    assert "accounts import" in caplog.text
