"""The eval command's own arithmetic (alignment, label layouts); the reader itself is
measured with real weights by running eval on the sample frames."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.evaluation import load_labels
from pipeline.plate.edits import levenshtein, substitutions

ROOT = Path(__file__).resolve().parents[1]


def test_substitutions_name_confusions_drops_and_extras() -> None:
    assert substitutions("WUNB944", "HUNB944") == [("W", "H")]
    assert substitutions("AS870", "AS87") == [("0", "")]
    assert substitutions("OF1", "OFF1") == [("", "F")]
    assert levenshtein("kitten", "sitting") == 3


def test_label_layouts_of_shared_data_and_generator(tmp_path: Path) -> None:
    (tmp_path / "labels.csv").write_text(
        "file,plate_raw,bbox_x_y_w_h\na.jpg,BS47040,92 201 122 28\n", encoding="utf-8")
    (item,) = load_labels(tmp_path)
    assert not item.german and item.box is not None and item.box.w == 122
    sample = load_labels(ROOT / "sample_frames")
    assert len(sample) == 40 and all(i.german and i.box and i.lines == 1 for i in sample)
    # the generator's two-line scenes mark their plates, so the box given is read as two rows
    (tmp_path / "labels.csv").write_text(
        "file,plate,bbox_x_y_w_h,lines\nb.jpg,OF-GD11,500 380 40 37,2\n", encoding="utf-8")
    (two,) = load_labels(tmp_path)
    assert two.german and two.lines == 2
    with pytest.raises(ValueError, match="labels.csv"):
        load_labels(tmp_path / "nowhere")


@pytest.mark.real
def test_eval_on_the_sample_frames_with_real_weights(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(ROOT / "config" / "sample-frames.toml"), "eval",
                 str(ROOT / "sample_frames"), "--json"]) == 0
    (summary,) = json.loads(capsys.readouterr().out).values()
    assert summary["images"] == 40 and summary["detection_rate"] >= 0.9
    assert summary["exact_box_given"] >= 0.6  # far frames are small and blurred on purpose
    # per car, through the tracker's voting: every car once, with its plate
    passages = summary["per_passage"]
    assert passages["cars"] == 10 and passages["exact"] == 10
    assert passages["wrong"] == [] and passages["missed"] == passages["split"] == 0


def test_eval_checks_every_labels_file_before_loading_a_model(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipeline.commands.run as run

    def no_model(*a: object, **k: object) -> None:
        raise AssertionError("the model was loaded before the labels were checked")

    monkeypatch.setattr(run, "build_reader", no_model)
    assert main(["eval", str(ROOT / "sample_frames"), str(tmp_path)]) == 1
    assert "labels.csv not found" in capsys.readouterr().err
