"""Export a training checkpoint as EasyOCR custom recognition model files.

Writes ``<out>/kennzeichen_de.pth`` (state dict with the ``module.`` prefix EasyOCR's CPU
loader strips) and ``<out>/kennzeichen_de.yaml``; ``<out>/kennzeichen_de.py`` (the network
definition) is kept in the repository.

    python -m pipeline.training.export_model --ckpt training_runs/kz1/best.pt --out models
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from pipeline.training.recog_common import (
    IMG_H,
    MODEL_NAME,
    NETWORK_PARAMS,
    build_model,
    export_state_dict,
)
from pipeline.training.synth_data import CHARSET

YAML = f"""\
# EasyOCR custom recognition model for German licence plates (see MODEL_CARD.md).
# Load with recog_network='{MODEL_NAME}', user_network_directory=<this directory>.
network_params:
  input_channel: {NETWORK_PARAMS["input_channel"]}
  output_channel: {NETWORK_PARAMS["output_channel"]}
  hidden_size: {NETWORK_PARAMS["hidden_size"]}
imgH: {IMG_H}
lang_list:
  - en
character_list: "{CHARSET}"
"""


def export(ckpt: Path, out: Path) -> Path:
    """Write the .pth and .yaml for checkpoint ``ckpt`` into ``out``; returns the .pth path."""
    state = torch.load(ckpt, map_location="cpu", weights_only=False)["model"]
    model = build_model()
    model.load_state_dict(state)
    out.mkdir(parents=True, exist_ok=True)
    pth = out / f"{MODEL_NAME}.pth"
    torch.save(export_state_dict(model), pth)
    (out / f"{MODEL_NAME}.yaml").write_text(YAML, encoding="utf-8")
    return pth


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ckpt", default="training_runs/kz1/best.pt")
    ap.add_argument("--out", default="models")
    a = ap.parse_args()
    print(export(Path(a.ckpt), Path(a.out)))


if __name__ == "__main__":
    main()
