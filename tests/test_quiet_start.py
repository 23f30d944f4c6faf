"""Starting the reader says nothing an operator cannot act on: no library warnings."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.real
def test_loading_the_recogniser_prints_no_warnings() -> None:
    code = ("from pipeline.reading.recognisers import load_recogniser; "
            "print(load_recogniser(threads=1).name)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, env=os.environ | {"OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "kennzeichen_de"
    assert "Warning" not in done.stderr, done.stderr
