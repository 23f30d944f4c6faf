"""A throw-away PostgreSQL cluster on loopback, for the tests and the scale benchmark.

Debian's ``postgresql`` package puts the server binaries in ``/usr/lib/postgresql/<N>/bin``.
``initdb`` and ``postgres`` refuse to run as root, so as root the cluster belongs to the
``postgres`` user (or ``nobody``); as anyone else it belongs to the caller. Production points
``database`` at its own server instead.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from pipeline.events.local_broker import free_port


def pg_bin_dir() -> Path | None:
    """The newest installed PostgreSQL server binaries, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresCluster:
    """initdb into a temporary folder, ``pg_ctl start`` on a free loopback port (unix socket
    in the same folder), ``stop()`` removes everything. ``durable=False`` turns fsync off:
    fine for tests, not for figures."""

    def __init__(self, durable: bool = False, port: int | None = None) -> None:
        bindir = pg_bin_dir()
        if bindir is None:
            raise FileNotFoundError("PostgreSQL is not installed: apt-get install -y postgresql")
        self.bindir = bindir
        self.port = port or free_port()
        self.durable = durable
        self.dir = Path(tempfile.mkdtemp(prefix="kc-postgres-"))
        self.data = self.dir / "data"
        self.user = "kc"
        self._runas: list[str] = []
        if os.geteuid() == 0:
            owner = next((u for u in ("postgres", "nobody") if _has_user(u)), None)
            if owner is None:
                raise RuntimeError("running as root and no 'postgres' or 'nobody' user to own "
                                   "the test cluster")
            entry = pwd.getpwnam(owner)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
            self._runas = ["runuser", "-u", owner, "--"]

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def url_for(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        result = subprocess.run([*self._runas, *args], capture_output=True, text=True,
                                cwd=self.dir)
        if result.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {result.stderr.strip()[-2000:]}")

    def start(self) -> PostgresCluster:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", self.user,
                  "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                   "-c max_connections=200 -c shared_buffers=128MB")
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l",
                  str(self.dir / "server.log"), "-o", options, "-w", "-t", "60", "start")
        return self

    def create_database(self, name: str) -> str:
        """A fresh, empty database; returns its URL."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                      "-w", "stop")
        for _ in range(20):  # the postmaster may take a moment to let go of its files
            with contextlib.suppress(OSError):
                shutil.rmtree(self.dir)
                return
            time.sleep(0.1)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
