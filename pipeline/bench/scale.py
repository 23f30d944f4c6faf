"""Scale figures for one customer base on SQLite and on PostgreSQL.

    python -m pipeline.bench.scale                      # 500,000 accounts, 4 workers
    python -m pipeline.bench.scale --accounts 20000 --events 200 --json

For each engine:

- **import**: ``kennzeichen-checkin accounts import`` of a generated CSV (one plate per
  customer) in a child process: wall time and the child's peak RSS;
- **match**: ``StoreMatcher`` over every plate in the store (index build time), then the
  latency of ``match`` (account lookup in the store included) for exact reads, one-confusion
  misreads and unregistered plates: p50/p95/p99;
- **outbox**: 4 worker processes (one per camera) each record ``--events`` passages with their
  events and drain the shared outbox to a real Mosquitto; arrivals/s = distinct events at a
  subscriber / wall time, and how many arrived twice.

PostgreSQL is a throw-away cluster (Debian's binaries, fsync on) unless ``--postgres-url``
names a server. Nothing here mocks a part.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"  # no I, O, Q: keeps generated plates unambiguous
MISREAD = {"B": "8", "S": "5", "Z": "2", "G": "6", "8": "B", "5": "S", "0": "D", "1": "I"}


@dataclass(frozen=True)
class EngineFigures:
    engine: str
    accounts: int
    import_s: float
    import_peak_rss_mb: float
    index_build_s: float
    match_p50_ms: float
    match_p95_ms: float
    match_p99_ms: float
    workers: int
    events: int
    outbox_s: float
    arrivals_per_s: float
    duplicates: int


def generate_plates(count: int, seed: int = 11) -> list[str]:
    """``count`` distinct valid German plates in display form (``OF-AB 123``)."""
    from pipeline.plate.districts import district_codes

    rng = random.Random(seed)
    districts = sorted(d for d in district_codes() if d.isalpha() and d.isascii())
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        district = rng.choice(districts)
        letters = "".join(rng.choice(LETTERS) for _ in range(rng.choice((1, 2))))
        room = 8 - len(district) - len(letters)
        digits = str(rng.randint(1, 10 ** min(4, room) - 1))
        compact = district + letters + digits
        if compact not in seen:
            seen.add(compact)
            out.append(f"{district}-{letters} {digits}")
    return out


def write_accounts_csv(path: Path, plates: list[str]) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write("customer_number,display_name,plate,visit_reason\n")
        for n, plate in enumerate(plates):
            f.write(f"{100000 + n},Kunde {n},{plate},Beratung\n")


def measure_import(database: str, csv: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of the real import command in a child process."""
    t0 = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "pipeline.bench.scale", "_import", database,
                             str(csv)], capture_output=True, text=True)
    seconds = time.monotonic() - t0
    if result.returncode != 0:
        raise RuntimeError(f"import failed: {result.stderr[-2000:]}")
    return seconds, int(result.stdout.split()[-1]) / 1024


def import_child(database: str, csv: str) -> None:
    """The import command in this process; prints its own peak RSS (kB) last."""
    from pipeline.cli import main

    code = main(["--database", database, "accounts", "import", csv, "--json"])
    if code:
        raise SystemExit(code)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True)


def measure_match(database: str, plates: list[str], samples: int,
                  seed: int = 5) -> tuple[float, list[float]]:
    """Index build seconds and per-match milliseconds (exact, misread, unregistered)."""
    from pipeline.matching.store_sync import StoreMatcher
    from pipeline.plate.grammar import Plate
    from pipeline.store.open import open_store

    rng = random.Random(seed)
    store = open_store(database)
    t0 = time.perf_counter()
    matcher = StoreMatcher(store, check_every_s=1e9)
    build = time.perf_counter() - t0
    registered = {p.replace("-", "").replace(" ", "") for p in plates}
    reads: list[Plate] = []
    for i in range(samples):
        district, rest = rng.choice(plates).split("-")
        letters, digits = rest.split(" ")
        if i % 4 == 2:  # a one-confusion misread
            pos = rng.randrange(len(digits))
            digits = digits[:pos] + MISREAD.get(digits[pos], digits[pos]) + digits[pos + 1:]
            if not digits.isdigit():
                digits = digits.replace("D", "0").replace("B", "8").replace("S", "5") \
                    .replace("I", "1")
        elif i % 4 == 3:  # most likely an unregistered car
            digits = str(rng.randint(1, 99))
            if district + letters + digits in registered:
                digits = str(int(digits) + 100)
        reads.append(Plate(district, letters, digits))
    times = []
    for plate in reads:
        t = time.perf_counter()
        matcher.match(plate)
        times.append(1000 * (time.perf_counter() - t))
    store.close()
    return build, times


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def measure_outbox(database: str, workers: int, events: int) -> tuple[float, int, int]:
    """(seconds, distinct events received, duplicates) for ``workers`` processes."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from pipeline.events.local_broker import MosquittoProcess

    broker = MosquittoProcess().start()
    received: list[str] = []
    lock = threading.Lock()
    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.on_connect = lambda c, u, f, rc, p: c.subscribe("bench/scale/arrival", qos=1)
    client.on_subscribe = lambda *a: subscribed.set()

    def on_message(c: Any, u: Any, msg: mqtt.MQTTMessage) -> None:
        with lock:
            received.append(msg.payload.decode())

    client.on_message = on_message
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    subscribed.wait(10)
    procs = [subprocess.Popen([sys.executable, "-m", "pipeline.bench.scale", "_worker",
                               database, str(broker.port), str(events), f"w{n}"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for n in range(workers)]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        t0 = time.monotonic()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        total = workers * events
        deadline = t0 + 900
        while time.monotonic() < deadline:
            with lock:
                if len(set(received)) >= total:
                    break
            time.sleep(0.01)
        seconds = time.monotonic() - t0
        for p in procs:
            p.wait(120)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        client.loop_stop()
        client.disconnect()
        broker.stop()
    with lock:
        return seconds, len(set(received)), len(received) - len(set(received))


def worker(database: str, port: int, events: int, name: str) -> None:
    """One camera process: record passages with their events as fast as it can, while its
    publisher drains the shared outbox."""
    from pipeline.domain import OutboxItem, ReadRecord
    from pipeline.events.mqtt_client import MqttSettings
    from pipeline.events.mqtt_publisher import MqttPublisher
    from pipeline.store.open import open_store

    store = open_store(database)
    publisher = MqttPublisher(MqttSettings(port=port), store, None)
    publisher.start()
    while not publisher.connected:
        time.sleep(0.01)
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(events):
        event_id = f"{name}-{i:06d}"
        store.record_passage(
            ReadRecord(event_id, "2026-11-25T07:00:00.000Z", name, None, None, 0.9,
                       "unregistered", None, event_id),
            OutboxItem(0, event_id, "bench/scale/arrival", event_id))
        publisher.notify()
    publisher.flush(600)
    publisher.stop()
    store.close()


def run_engine(engine: str, database: str, plates: list[str], csv: Path, workers: int,
               events: int, samples: int) -> EngineFigures:
    print(f"[{engine}] importing {len(plates)} accounts ...", file=sys.stderr, flush=True)
    import_s, rss = measure_import(database, csv)
    print(f"[{engine}] matching {samples} reads ...", file=sys.stderr, flush=True)
    build, times = measure_match(database, plates, samples)
    print(f"[{engine}] outbox: {workers} workers x {events} events ...", file=sys.stderr,
          flush=True)
    seconds, distinct, dups = measure_outbox(database, workers, events)
    if distinct < workers * events:
        raise RuntimeError(f"[{engine}] only {distinct} of {workers * events} events arrived")
    return EngineFigures(engine, len(plates), round(import_s, 1), round(rss, 0),
                         round(build, 2), round(percentile(times, 50), 3),
                         round(percentile(times, 95), 3), round(percentile(times, 99), 3),
                         workers, workers * events, round(seconds, 2),
                         round(workers * events / seconds, 1), dups)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_worker":
        worker(argv[1], int(argv[2]), int(argv[3]), argv[4])
        return 0
    if argv and argv[0] == "_import":
        import_child(argv[1], argv[2])
        return 0
    parser = argparse.ArgumentParser(prog="python -m pipeline.bench.scale",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=500_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--events", type=int, default=1000, help="per worker")
    parser.add_argument("--samples", type=int, default=4000, help="reads matched")
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--postgres-url", default="",
                        help="an empty database on a server (default: a throw-away cluster)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from pipeline.bench.pg_cluster import PostgresCluster

    results: list[EngineFigures] = []
    with tempfile.TemporaryDirectory(prefix="kc-scale-") as tmp:
        work = Path(tmp)
        plates = generate_plates(args.accounts)
        csv = work / "accounts.csv"
        write_accounts_csv(csv, plates)
        for engine in args.engines.split(","):
            cluster = None
            if engine == "sqlite":
                database = f"sqlite:///{work / 'scale.sqlite3'}"
            elif args.postgres_url:
                database = args.postgres_url
            else:
                cluster = PostgresCluster(durable=True).start()
                database = cluster.create_database("scale")
            try:
                results.append(run_engine(engine, database, plates, csv, args.workers,
                                          args.events, args.samples))
            finally:
                if cluster is not None:
                    cluster.stop()
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    else:
        for r in results:
            print(f"{r.engine:9s} import {r.accounts} accounts: {r.import_s} s, peak RSS "
                  f"{r.import_peak_rss_mb:.0f} MB | match index {r.index_build_s} s, p50 "
                  f"{r.match_p50_ms} ms, p95 {r.match_p95_ms} ms, p99 {r.match_p99_ms} ms | "
                  f"outbox {r.workers} workers: {r.events} events in {r.outbox_s} s = "
                  f"{r.arrivals_per_s}/s, {r.duplicates} duplicates")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
