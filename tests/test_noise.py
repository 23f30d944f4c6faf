"""Issue 23, item 9: what a user sees on the terminal is our log, not the libraries' own
lines: a camera that is down says so in one line of ours per retry, without OpenCV's and
FFmpeg's ``[ WARN:...] VIDEOIO(FFMPEG)`` / ``[tcp @ ...]`` lines, and starting the demo's
amqtt broker logs no error."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from pipeline.events.local_broker import AmqttThread, free_port
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]

# A dead camera retried quickly; the script closes the source after its third retry.
DEAD_CAMERA = textwrap.dedent("""
    import logging, sys
    from pipeline.frames.sources import CaptureSource

    logging.basicConfig(level=logging.DEBUG if sys.argv[2] == "-v" else logging.INFO,
                        stream=sys.stderr, format="%(levelname)s %(message)s")
    source = CaptureSource(sys.argv[1], live=True, backoff=(0.05, 0.05))

    class CloseAfterThree(logging.Handler):
        seen = 0

        def emit(self, record):
            CloseAfterThree.seen += 1
            if CloseAfterThree.seen >= 3:
                source.close()

    logging.getLogger("pipeline.frames.sources").addHandler(CloseAfterThree())
    for _ in source.frames():
        pass
""")


def _dead_camera_stderr(verbose: bool) -> str:
    url = f"rtsp://kamera:geheim@127.0.0.1:{free_port()}/stream"  # nothing listens there
    done = subprocess.run([sys.executable, "-c", DEAD_CAMERA, url, "-v" if verbose else "-"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_a_dead_camera_is_said_once_per_retry_by_our_log_alone() -> None:
    lines = _dead_camera_stderr(verbose=False).splitlines()
    ours = [line for line in lines if "cannot open camera rtsp://kamera:***@127.0.0.1" in line]
    assert len(ours) == 3, lines
    assert [line for line in lines if line not in ours] == []


def test_the_cameras_password_stays_out_of_the_log_and_the_doctors_report() -> None:
    """Issue 23 walkthrough: 'cannot open camera rtsp://user:geheim@...' went to the log."""
    from pipeline.commands.doctor import check_camera

    assert "geheim" not in _dead_camera_stderr(verbose=True)
    ok, said, _todo = check_camera(f"rtsp://kamera:geheim@127.0.0.1:{free_port()}/stream")
    assert not ok and "rtsp://kamera:***@127.0.0.1:" in said and "geheim" not in said


def test_a_verbose_run_keeps_ffmpegs_reason() -> None:
    """-v is for finding out why a camera does not answer: FFmpeg's line says it."""
    assert "Connection refused" in _dead_camera_stderr(verbose=True)


def test_the_amqtt_broker_starts_without_an_error_in_the_log(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="amqtt")
    broker = AmqttThread().start()
    try:
        connected: list[int] = []
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        client.on_connect = lambda *args: connected.append(1)
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        assert wait_until(lambda: connected, 10), "the broker took no connection"
        client.loop_stop()
        client.disconnect()
    finally:
        broker.stop()
    assert [r.getMessage() for r in caplog.records if r.name.startswith("amqtt")] == []
