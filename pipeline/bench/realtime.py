"""Real-time benchmark: a synthetic 25 fps camera stream through the real pipeline.

    python -m pipeline.bench.realtime --resolution 1080p --seconds 120 [--json]

1. Renders a drive-in stream with the project's scene generator (one car every 10-30 s,
   some with a second car in view; seeds 7000+, never used for tuning) into an MJPEG file,
   cached in ``--cache``.
2. Replays it at real time (25 fps, as a camera would: frames not taken in time are dropped)
   through the product's own stages: grabber thread, motion gate, detector, recogniser, voting,
   matching, SQLite outbox, paho-mqtt to a Mosquitto on loopback.
3. Measures per stage mean/p95 ms, frames processed vs dropped, CPU %, peak RSS, latency
   from "plate first readable" (plate >= 80 px wide at 720p and not hidden behind a nearer
   car) to "arrival acknowledged by the broker", and right/wrong/missed arrivals against the
   ground truth.
4. Measures the naive baseline on the same frames: EasyOCR ``readtext`` (CRAFT + english_g2)
   on whole frames, and prints the throughput ratio.

Needs Debian's ``fonts-opendin`` (stream generation) and ``mosquitto``.
"""

from __future__ import annotations

import csv
import json
import math
import resource
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pipeline.frames.types import Frame, SourceStats

FPS = 25.0
RESOLUTIONS = {"720p": (1280, 720), "1080p": (1920, 1080)}
APPROACH_S, STAND_S = 4.0, 1.0
READABLE_WIDTH_720P = 80
SCENE_ROI = [[0.2, 0.4], [0.8, 0.4], [1.0, 1.0], [0.0, 1.0]]


@dataclass(frozen=True)
class CarPass:
    plate: str
    customer: str
    start_s: float
    lateral: float
    readable_s: float = math.inf


def plan_traffic(seconds: float, seed: int) -> list[CarPass]:
    """When each car comes: every 10-30 s, a fifth of them with a second car close behind."""
    from pipeline.synth.plate_render import random_plate
    from pipeline.synth.scenes import LOCAL_DISTRICTS

    rng = np.random.default_rng(seed)
    cars: list[CarPass] = []
    t = 2.0
    seen: set[str] = set()
    while t < seconds - APPROACH_S - STAND_S:
        for offset, lateral in ((0.0, float(rng.uniform(-0.9, -0.2))),
                                (float(rng.uniform(1.0, 2.0)), float(rng.uniform(0.3, 0.9)))):
            if offset and rng.random() > 0.2:
                continue
            plate = random_plate(rng, str(rng.choice(LOCAL_DISTRICTS)))
            if plate in seen:
                continue
            seen.add(plate)
            customer = "" if len(cars) % 5 == 4 else str(20001 + len(cars))
            cars.append(CarPass(plate, customer, t + offset, lateral))
        t += float(rng.uniform(10, 30))
    return cars


def render_stream(path: Path, size: tuple[int, int], seconds: float, seed: int,
                  cars: list[CarPass]) -> list[CarPass]:
    """Write the MJPEG stream; returns the cars with the time their plate became readable."""
    from pipeline.synth.plate_render import render_plate
    from pipeline.synth.scenes import Car, background, camera_look, draw_car

    rng = np.random.default_rng(seed + 1)
    background = background(rng, False, size)
    plates = {c.plate: render_plate(c.plate, rng).astype(np.float32) for c in cars}
    colours = {c.plate: tuple(int(v) for v in rng.integers(30, 230, 3)) for c in cars}
    readable: dict[str, float] = {}
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, size)
    min_width = READABLE_WIDTH_720P * size[0] / 1280
    try:
        for n in range(int(seconds * FPS)):
            t = n / FPS
            img = background.copy()
            # draw the farther car first so the nearer one covers it
            visible = [c for c in cars if c.start_s <= t < c.start_s + APPROACH_S + STAND_S]
            drawn = []
            for car in sorted(visible, key=lambda c: -c.start_s):
                progress = min(1.0, (t - car.start_s) / APPROACH_S)
                box = draw_car(img, Car(car.plate, colours[car.plate], False, car.lateral),
                           plates[car.plate], progress, rng)
                drawn.append((car, box, _patch(img, box).copy()))
            # readable: wide enough, and not hidden behind a nearer car drawn after it
            for car, box, patch in drawn:
                if box[2] >= min_width and \
                        np.mean(np.all(_patch(img, box) == patch, axis=-1)) >= 0.9:
                    readable.setdefault(car.plate, t)
            writer.write(camera_look(img, False, rng))
    finally:
        writer.release()
    return [CarPass(c.plate, c.customer, c.start_s, c.lateral, readable.get(c.plate, math.inf))
            for c in cars]


def _patch(img: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x, y, w, h = box
    return img[max(0, y):max(0, y + h), max(0, x):max(0, x + w)]


class PacedVideo:
    """A video file replayed at real time, like a camera: ``frames()`` yields each frame at
    its moment; combined with the grabber, frames the pipeline cannot take are dropped."""

    live = True

    def __init__(self, path: Path, fps: float = FPS) -> None:
        self.path = path
        self.fps = fps
        self.name = str(path)
        self.stats = SourceStats()
        self.decode_ms: list[float] = []
        self.started_at = 0.0
        self._stop = threading.Event()

    def frames(self) -> Iterator[Frame]:
        cap = cv2.VideoCapture(str(self.path))
        self.started_at = time.monotonic()
        self.stats.online = True
        n = 0
        try:
            while not self._stop.is_set():
                t0 = time.perf_counter()
                ok, image = cap.read()
                self.decode_ms.append(1000 * (time.perf_counter() - t0))
                if not ok:
                    break
                due = self.started_at + n / self.fps
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                self.stats.delivered += 1
                self.stats.last_frame_at = time.time()
                yield Frame(n, n / self.fps, image, self.name)
                n += 1
        finally:
            cap.release()
            self.stats.online = False

    def close(self) -> None:
        self._stop.set()


def _stats(values: list[float] | Any) -> dict[str, float | None]:
    data = sorted(values)
    if not data:
        return {"mean": None, "p95": None, "n": 0}
    return {"mean": round(sum(data) / len(data), 2),
            "p95": round(data[math.ceil(0.95 * len(data)) - 1], 2), "n": len(data)}


def run_pipeline_on(stream: Path, cars: list[CarPass], workdir: Path,
                    metrics: bool = False) -> dict[str, Any]:
    """The product's pipeline on the paced stream, against a loopback Mosquitto;
    ``metrics``: with the Prometheus exporter's hooks attached and scraped every second
    (Prometheus scrapes every 15 s: an upper bound of what the metrics cost)."""
    import torch

    from pipeline.assembly import build_checkin, build_reader, topics
    from pipeline.checkin import RunSummary, run_source
    from pipeline.config import CameraSettings, Settings
    from pipeline.domain import Account
    from pipeline.events.local_broker import MosquittoProcess
    from pipeline.events.mqtt_client import MqttSettings
    from pipeline.events.mqtt_publisher import MqttPublisher
    from pipeline.frames.grabber import LatestFrameGrabber
    from pipeline.store.sqlite_store import SqliteStore

    # the camera as installed: the region of interest is the loop entrance of the generated
    # scene, as in config/sample-frames.toml (the drive-in sign above is not a plate)
    settings = Settings(topic_prefix="bench/site",
                        camera=CameraSettings(id="bench", site="site", roi=SCENE_ROI))
    store = SqliteStore(workdir / "bench.sqlite3")
    store.import_accounts([Account(c.customer, f"Kunde {c.customer}", (c.plate.replace("-", ""),))
                           for c in cars if c.customer])
    broker = MosquittoProcess().start()
    publisher = MqttPublisher(MqttSettings(port=broker.port), store,
                              topics(settings).availability)
    acked: dict[str, float] = {}
    publisher.on_ack = lambda event_id: acked.setdefault(event_id, time.monotonic())
    reader = build_reader(settings)  # loaded and warmed up before the camera starts
    checkin = build_checkin(settings, reader, store, hmac_key=b"b" * 32,
                            on_event=lambda _e: publisher.notify())
    video = PacedVideo(stream)
    source = LatestFrameGrabber(video)
    summary = RunSummary()
    scraping = _scrape_metrics(reader, checkin, publisher, summary, store) if metrics else None
    publisher.start()
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    wall0 = time.monotonic()
    run_source(source, checkin, threading.Event(), progress_every=0, summary=summary)
    publisher.flush(30)
    wall = time.monotonic() - wall0
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    if scraping is not None:
        scraping.set()
    publisher.stop()
    broker.stop()
    store.close()

    by_customer = {c.customer: c for c in cars if c.customer}
    latencies, right, wrong = [], 0, 0
    per_car: list[dict[str, Any]] = []
    announced: set[str] = set()
    for event in summary.events:
        account = event.payload.get("account")
        customer = account["customer_number"] if isinstance(account, dict) else None
        car = by_customer.get(customer or "")
        if customer and car is None:
            wrong += 1
            continue
        if car is None:
            continue
        right += customer not in announced
        announced.add(customer or "")
        if event.event_id in acked and math.isfinite(car.readable_s):
            latencies.append(acked[event.event_id] - (video.started_at + car.readable_s))
            per_car.append({"customer": car.customer, "start_s": round(car.start_s, 2),
                            "lateral": round(car.lateral, 2),
                            "readable_s": round(car.readable_s, 2),
                            "acked_s": round(acked[event.event_id] - video.started_at, 2),
                            "latency_s": round(latencies[-1], 3)})
    timings = checkin.timings
    cpu = (usage1.ru_utime + usage1.ru_stime) - (usage0.ru_utime + usage0.ru_stime)
    frames_total = video.stats.delivered
    processed = summary.frames
    work_ms = sum(sum(v) for v in timings.values()) + sum(video.decode_ms)
    per_frame_ms = work_ms / max(1, frames_total)
    return {
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "metrics": metrics,
        "torch_threads": torch.get_num_threads(),
        "seconds": round(wall, 1),
        "frames_from_camera": frames_total,
        "frames_processed": processed,
        "frames_dropped": source.dropped,
        "frames_gated": checkin.gated,
        "stages_ms": {
            "decode": _stats(video.decode_ms),
            "gate": _stats(timings["gate"]),
            "detect": _stats(reader.timings.detect_ms),
            "recognise_per_crop": _stats(reader.timings.recognise_ms),
            "read_frame": _stats(timings["read"]),
            "vote": _stats(timings["vote"]),
            "match": _stats(timings["match"]),
            "store": _stats(timings["store"]),
        },
        "pipeline_ms_per_camera_frame": round(per_frame_ms, 2),
        "cpu_percent": round(100 * cpu / wall, 1),
        "peak_rss_mb": round(usage1.ru_maxrss / 1024, 1),
        "latency_readable_to_ack_s": {
            "p50": round(float(np.percentile(latencies, 50)), 3) if latencies else None,
            "p95": round(float(np.percentile(latencies, 95)), 3) if latencies else None,
            "n": len(latencies)},
        "cars": len(cars),
        "registered_cars": len(by_customer),
        "arrivals": summary.passages,
        "right_accounts": right,
        "wrong_accounts": wrong,
        "missed_registered": len(by_customer) - right,
        "per_car": sorted(per_car, key=lambda c: -c["latency_s"]),
    }


def naive_baseline(stream: Path, frames: int) -> dict[str, Any]:
    """EasyOCR readtext (CRAFT + english_g2) on whole frames: frames per second."""
    import easyocr
    import easyocr_en_models

    reader = easyocr.Reader(["en"], gpu=False, model_storage_directory=easyocr_en_models
                            .model_dir(), download_enabled=False, verbose=False)
    cap = cv2.VideoCapture(str(stream))
    images = []
    step = max(1, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) // max(1, frames))
    n = 0
    while len(images) < frames:
        ok, image = cap.read()
        if not ok:
            break
        if n % step == 0:
            images.append(image)
        n += 1
    cap.release()
    reader.readtext(images[0][:64, :256])  # warm-up
    t0 = time.perf_counter()
    for image in images:
        reader.readtext(image)
    seconds = time.perf_counter() - t0
    return {"frames": len(images), "seconds": round(seconds, 1),
            "ms_per_frame": round(1000 * seconds / max(1, len(images)), 1),
            "fps": round(len(images) / seconds, 3) if seconds else None}


def _scrape_metrics(reader: Any, checkin: Any, publisher: Any, summary: Any,
                    store: Any) -> threading.Event:
    """Attach the metrics' stage hooks and scrape every second until the event is set."""
    from pipeline.domain import ARRIVAL_STATUSES
    from pipeline.metrics.exporter import RUN, Exporter

    exporter = Exporter(RUN, lambda: {
        "frames": summary.frames, "outbox_depth": store.outbox_depth(),
        "arrivals": {str(s): summary.count(s) for s in ARRIVAL_STATUSES},
        "broker_up": float(publisher.connected)})
    reader.observe = checkin.observe = publisher.observe = exporter.observe
    done = threading.Event()

    def scrape() -> None:
        while not done.wait(1.0):
            exporter.text()

    threading.Thread(target=scrape, name="metrics-scrape", daemon=True).start()
    return done


def bench(resolution: str, seconds: float, seed: int, cache: Path | None,
          baseline_frames: int, progress: Any = print, metrics: bool = False) -> dict[str, Any]:
    size = RESOLUTIONS[resolution]
    cache = cache or Path(tempfile.gettempdir()) / "kennzeichen-bench"
    cache.mkdir(parents=True, exist_ok=True)
    # v2: "readable" takes occlusion into account
    stream = cache / f"stream_{resolution}_{int(seconds)}s_{seed}_v2.avi"
    truth = stream.with_suffix(".csv")
    cars = plan_traffic(seconds, seed)
    if stream.is_file() and truth.is_file():
        with truth.open(encoding="utf-8") as fh:
            cars = [CarPass(r["plate"], r["customer"], float(r["start_s"]), float(r["lateral"]),
                            float(r["readable_s"])) for r in csv.DictReader(fh)]
    else:
        progress(f"rendering a {resolution} stream of {seconds:.0f} s with {len(cars)} cars "
                 f"to {stream} (once; cached)")
        cars = render_stream(stream, size, seconds, seed, cars)
        with truth.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["plate", "customer", "start_s", "lateral", "readable_s"])
            writer.writerows([c.plate, c.customer, c.start_s, c.lateral, c.readable_s]
                             for c in cars)
    progress(f"replaying {resolution} at {FPS:.0f} fps through the pipeline ({seconds:.0f} s)")
    with tempfile.TemporaryDirectory() as work:
        result = run_pipeline_on(stream, cars, Path(work), metrics)
    result["resolution"] = resolution
    if baseline_frames:
        progress(f"naive baseline: EasyOCR readtext on {baseline_frames} whole frames")
        base = naive_baseline(stream, baseline_frames)
        result["baseline"] = base
        ours = result["frames_from_camera"] / result["seconds"]
        result["throughput_fps"] = round(ours, 2)
        result["throughput_ratio"] = round(ours / base["fps"], 1) if base["fps"] else None
    return result


def format_result(r: dict[str, Any]) -> str:
    lines = [f"{r['resolution']} stream, {r['seconds']} s on {r['device']} "
             f"({r['torch_threads']} torch threads): {r['frames_from_camera']} camera frames, "
             f"{r['frames_processed']} processed ({r['frames_gated']} spared by the motion "
             f"gate), {r['frames_dropped']} dropped",
             "  stage                 mean ms    p95 ms      n"]
    for stage, s in r["stages_ms"].items():
        mean = "-" if s["mean"] is None else f"{s['mean']:.2f}"
        p95 = "-" if s["p95"] is None else f"{s['p95']:.2f}"
        lines.append(f"  {stage:<20} {mean:>8} {p95:>9} {s['n']:>6}")
    lat = r["latency_readable_to_ack_s"]
    lines += [
        f"  pipeline work per camera frame: {r['pipeline_ms_per_camera_frame']} ms",
        f"  CPU {r['cpu_percent']} % (of one core), peak RSS {r['peak_rss_mb']} MB",
        f"  plate readable -> arrival acknowledged: p50 {lat['p50']} s, p95 {lat['p95']} s "
        f"({lat['n']} arrivals)",
        f"  cars {r['cars']} ({r['registered_cars']} registered): {r['arrivals']} arrivals, "
        f"{r['right_accounts']} right accounts, {r['wrong_accounts']} wrong, "
        f"{r['missed_registered']} registered cars missed"]
    if "baseline" in r:
        b = r["baseline"]
        lines.append(f"  naive baseline (readtext on whole frames): {b['ms_per_frame']} ms per "
                     f"frame = {b['fps']} fps; ours {r['throughput_fps']} fps = "
                     f"{r['throughput_ratio']}x")
    return "\n".join(lines)


def to_json(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2)


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  python -m pipeline.bench.realtime --resolution 1080p --seconds 120")
    ap.add_argument("--resolution", choices=sorted(RESOLUTIONS), default="720p")
    ap.add_argument("--seconds", type=float, default=120.0, help="stream length")
    ap.add_argument("--seed", type=int, default=7000)
    ap.add_argument("--cache", type=Path, help="where rendered streams are kept")
    ap.add_argument("--baseline-frames", type=int, default=5,
                    help="whole frames for the naive readtext baseline (0: skip)")
    ap.add_argument("--metrics", action="store_true",
                    help="attach the Prometheus metrics and scrape them every second")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    result = bench(a.resolution, a.seconds, a.seed, a.cache, a.baseline_frames,
                   progress=lambda msg: print(msg, file=sys.stderr, flush=True),
                   metrics=a.metrics)
    print(to_json(result) if a.json else format_result(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
