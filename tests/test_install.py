"""A built wheel, installed into a fresh venv away from the checkout, reads with the German
plate model (the model travels as data files), and reads the same plates as the checkout."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FRAME = ROOT / "sample_frames" / "frame_0002.jpg"  # a car near: its plate is read

pytestmark = pytest.mark.real


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{cmd}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _plates(out: str) -> list[str | None]:
    return [p["text"] for item in json.loads(out) for p in item["plates"]]


def test_wheel_in_a_fresh_venv_reads_with_the_german_model(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
          "-w", str(wheels), str(ROOT)], tmp_path)
    (wheel,) = wheels.glob("kennzeichen_checkin-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    # reuse this venv's dependencies (torch, easyocr, ...) without its editable checkout: a
    # path line in a .pth file adds the directory, but runs none of the .pth files in it
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path("
                              "'purelib'))"], capture_output=True, text=True).stdout.strip()
    Path(purelib, "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q",
          str(wheel)], tmp_path)

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"OMP_NUM_THREADS": "1"}
    where = _run([str(py), "-c", "import pipeline, pipeline.reading.recognisers as r; "
                  "print(pipeline.__file__); print(r.DEFAULT_MODELS_DIR)"], tmp_path, env)
    package, models = where.split()
    assert Path(package).is_relative_to(env_dir), "the wheel's package, not the checkout's"
    assert Path(models).is_relative_to(env_dir), "the model came with the wheel"
    name = _run([str(py), "-c", "from pipeline.reading.recognisers import load_recogniser; "
                 "print(load_recogniser(prefer='plate', threads=1).name)"], tmp_path, env)
    assert name.strip() == "kennzeichen_de"

    installed = _run([str(env_dir / "bin" / "kennzeichen-checkin"), "read", str(FRAME),
                      "--json"], tmp_path, env)
    checkout = _run([sys.executable, "-m", "pipeline", "read", str(FRAME), "--json"], ROOT,
                    env)
    assert _plates(installed) == _plates(checkout)
    assert any(_plates(installed))
