"""The recogniser's training script: it trains, resumes where it stopped, and with
``--freeze cnn`` leaves the feature extractor exactly as it was (BatchNorm statistics too).

A few steps on a few dozen rendered crops: a smoke test of the script, not of accuracy.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from pipeline.training.make_dataset import make_shard
from pipeline.training.recog_common import model_from_export

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "kennzeichen_de.pth"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shards")
    make_shard(("train", 0, 32, str(out)))
    make_shard(("val", 0, 8, str(out)))
    return out


def train(data: Path, run: Path, *args: str) -> str:
    """Run the training script in its own process (it sets torch's thread count)."""
    cmd = [sys.executable, "-m", "pipeline.training.train_recogniser", "--run", str(run),
           "--data", str(data), "--batch", "4", "--val-every", "2", "--init", str(SHIPPED),
           *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def last(run: Path) -> dict:
    """The run's resumable checkpoint (model, optimizer, step)."""
    return torch.load(run / "last.pt", map_location="cpu", weights_only=False)


def test_frozen_feature_extractor_stays_as_shipped_and_a_run_resumes(
        data: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    train(data, run, "--steps", "2", "--freeze", "cnn")
    first = last(run)
    assert first["step"] == 2

    shipped = model_from_export(SHIPPED).state_dict()
    trained = first["model"]
    cnn = [k for k in shipped if k.startswith("FeatureExtraction.")]
    assert any("running_mean" in k for k in cnn)  # the BatchNorm statistics are checked too
    assert all(torch.equal(trained[k], shipped[k]) for k in cnn)
    rest = [k for k in shipped if k.startswith(("SequenceModeling.", "Prediction."))]
    assert any(not torch.equal(trained[k], shipped[k]) for k in rest)

    out = train(data, run, "--steps", "3", "--freeze", "cnn", "--resume")
    assert "resumed at step 2" in out
    assert last(run)["step"] == 3


def test_default_training_moves_the_unfrozen_convolutions(data: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    train(data, run, "--steps", "2")
    trained = last(run)["model"]
    shipped = model_from_export(SHIPPED).state_dict()
    frozen, free = "FeatureExtraction.ConvNet.0.weight", "FeatureExtraction.ConvNet.18.weight"
    assert torch.equal(trained[frozen], shipped[frozen])
    assert not torch.equal(trained[free], shipped[free])
