"""A throw-away MQTT broker on loopback, for the demo and the tests.

Mosquitto (Debian package ``mosquitto``) when it is installed; otherwise amqtt, a broker in pure
Python (pip extra ``demo``). Production points ``[mqtt]`` at its own Mosquitto instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MOSQUITTO_PATHS = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mosquitto_binary() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((p for p in MOSQUITTO_PATHS if Path(p).is_file()), None)


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"MQTT broker did not open port {port} within {timeout:.0f} s")


class MosquittoProcess:
    """A Mosquitto child process on a loopback port, anonymous access, in-memory only."""

    mqtt_protocol = "5"

    def __init__(self, port: int | None = None,
                 users: dict[str, str] | None = None, extra_config: str = "") -> None:
        """``extra_config``: appended to the configuration, e.g. a bridge ``connection``."""
        binary = mosquitto_binary()
        if binary is None:
            raise FileNotFoundError("mosquitto is not installed: apt-get install -y mosquitto")
        self.binary = binary
        self.port = port or free_port()
        self._dir = Path(tempfile.mkdtemp(prefix="kc-mosquitto-"))
        self.config_path = self._dir / "mosquitto.conf"
        access = "allow_anonymous true\n"
        if users:
            passwd = self._dir / "passwd"
            passwd.write_text("".join(f"{u}:{p}\n" for u, p in users.items()), encoding="utf-8")
            passwd.chmod(0o600)
            # hash the plain-text file in place, as an administrator would
            tool = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
            subprocess.run([tool, "-U", str(passwd)], check=True, capture_output=True)
            access = f"allow_anonymous false\npassword_file {passwd}\n"
        # As root, Mosquitto drops to the 'mosquitto' user, which cannot read this private
        # temp folder; a throw-away loopback broker may keep the caller's user.
        user = f"user {getpass.getuser()}\n" if os.geteuid() == 0 else ""
        self.config_path.write_text(
            f"{user}listener {self.port} 127.0.0.1\n{access}persistence false\n"
            f"log_dest stderr\n{extra_config}", encoding="utf-8")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> MosquittoProcess:
        self.process = subprocess.Popen([self.binary, "-c", str(self.config_path)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)
        return self

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self._dir, ignore_errors=True)


class AmqttThread:
    """amqtt's broker on its own event loop in a daemon thread."""

    mqtt_protocol = "3.1.1"  # amqtt speaks no MQTT 5

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._loop = asyncio.new_event_loop()
        self._broker: Any = None
        self._thread = threading.Thread(target=self._run, name="amqtt", daemon=True)
        self._listening = threading.Event()
        self._failed: BaseException | None = None

    def _run(self) -> None:
        from amqtt.broker import Broker

        asyncio.set_event_loop(self._loop)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin":
                        {"allow_anonymous": True}},
        }
        self._broker = Broker(config, loop=self._loop)
        try:
            self._loop.run_until_complete(self._broker.start())
        except BaseException as exc:
            self._failed = exc
            raise
        finally:
            self._listening.set()
        self._loop.run_forever()

    def start(self) -> AmqttThread:
        """Returns when the broker listens. Not by probing its port, as for Mosquitto: amqtt
        logs a connection that sends no CONNECT as an ERROR ('No data to decode')."""
        self._thread.start()
        if not self._listening.wait(10):
            raise TimeoutError(f"amqtt did not open port {self.port} within 10 s")
        if self._failed is not None:
            raise RuntimeError(f"amqtt could not start on port {self.port}: "
                               f"{self._failed}") from self._failed
        return self

    def stop(self) -> None:
        if self._broker is not None:
            fut = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
            with contextlib.suppress(Exception):
                fut.result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)


def start_local_broker() -> MosquittoProcess | AmqttThread:
    """Mosquitto if installed, else amqtt; raises with what to install if neither is there."""
    if mosquitto_binary():
        log.info("starting a local Mosquitto for this run")
        return MosquittoProcess().start()
    try:
        import amqtt  # noqa: F401
    except ImportError as exc:
        raise RuntimeError("no MQTT broker configured and none to start: install mosquitto "
                           "(apt-get install mosquitto) or amqtt (pip install "
                           "'kennzeichen-checkin[demo]'), or set [mqtt] host/port") from exc
    log.info("Mosquitto not installed: starting amqtt, a Python broker, for this run")
    return AmqttThread().start()
