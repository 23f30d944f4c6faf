"""Commands that read plates: run, demo, read, eval."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

from pipeline.assembly import build_reader, open_store
from pipeline.commands.events import format_arrival, subscribe
from pipeline.commands.wiring import run_pipeline
from pipeline.config import Settings
from pipeline.domain import iso, utc_now
from pipeline.events.mqtt_client import MqttSettings
from pipeline.frames.sources import SourceError, UnreadableImage, decode_image
from pipeline.plate.districts import district_codes
from pipeline.store.accounts_csv import read_accounts_csv
from pipeline.terminal import UserError, install_stop_handlers, print_json

log = logging.getLogger("kennzeichen-checkin")


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    stop = threading.Event()
    install_stop_handlers(stop)
    broker = None
    mqtt = settings.mqtt
    if args.local_broker:
        from pipeline.events.local_broker import start_local_broker

        broker = start_local_broker()
        mqtt = MqttSettings(host="127.0.0.1", port=broker.port, protocol=broker.mqtt_protocol)
    try:
        result = run_pipeline(settings, args.source, mqtt, stop, restart=args.restart)
    except SourceError as exc:
        raise UserError(str(exc)) from exc
    finally:
        if broker is not None:
            broker.stop()
    busy = result.pop("source_busy", False)
    if args.json:
        print_json({k: v for k, v in result.items()})
    else:
        _print_run_summary(result)
    code = run_exit_code(result)
    if busy:
        # a hung stream's read returns only after its timeout; the interpreter's exit would
        # tear OpenCV down under it (SIGSEGV): leave now, everything is flushed and closed
        log.warning("the camera thread is still waiting for the stream; exiting without it")
        logging.shutdown()
        sys.stdout.flush()
        os._exit(code)
    return code


def run_exit_code(result: dict[str, Any]) -> int:
    """0: everything stored and acknowledged; 4: arrivals the database could not store (a
    folder or file resumes before them); 3: events wait in the outbox (the broker was away
    or refused them)."""
    if result["arrivals_not_stored"]:
        return 4
    return 0 if result["undelivered"] == 0 else 3


def _print_run_summary(result: dict[str, Any]) -> None:
    if result["recogniser"] is None:  # nothing to read: no model was loaded
        print(f"0 frames read; {result['published']} published, {result['undelivered']} "
              "waiting in the outbox")
        return
    bad = result["corrupt_frames"]
    # all frames, then the bad among them: "10 frames (2 unreadable)" read as 10 good + 2 bad
    frames = (f"{result['frames'] + bad} frames, {bad} of them unreadable," if bad
              else f"{result['frames']} frames")
    print(f"{frames} in {result['seconds']} s with {result['recogniser']}: "
          f"{result['arrivals']} arrivals, "
          f"{result['matched']} matched, {result['unregistered']} unregistered, "
          f"{result['needs_review']} to review; "
          f"{result['published']} published, {result['undelivered']} waiting in the outbox"
          + (f"; {result['arrivals_not_stored']} NOT STORED (see the log)"
             if result["arrivals_not_stored"] else ""))




# -- demo ---------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    import dataclasses

    from pipeline.events.local_broker import start_local_broker

    source: Path = args.source
    accounts_csv = source / "accounts.csv"
    if not source.is_dir():
        raise UserError(f"{source} is not a folder of frames")
    workdir: Path = args.workdir
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    settings = dataclasses.replace(settings, database=str(workdir / "checkin.sqlite3"))
    store = open_store(settings)
    if accounts_csv.is_file():
        count = store.import_accounts(read_accounts_csv(accounts_csv, district_codes()).accounts)
        print(f"demo: imported {count} sample accounts into {settings.database}")
    store.close()
    broker = start_local_broker()
    mqtt = MqttSettings(host="127.0.0.1", port=broker.port, protocol=broker.mqtt_protocol)
    received: list[dict[str, Any]] = []

    def show(payload: dict[str, Any]) -> None:
        # the clock time the arrival came: a folder's events carry the time of their frame
        # (first frame + index / folder_fps), which runs ahead of the run by its reading time
        received.append(payload)
        line = format_arrival(payload, settings.privacy.timezone, at=iso(utc_now()))
        print(f"  MQTT arrival  {line}", flush=True)

    print(f"demo: broker on 127.0.0.1:{broker.port}; arrivals on {settings.prefix}/arrival")
    client = subscribe(mqtt, f"{settings.prefix}/arrival", show)
    stop = threading.Event()
    install_stop_handlers(stop)
    try:
        result = run_pipeline(settings, str(source), mqtt, stop)
        deadline = time.monotonic() + 5
        while len(received) < result["published"] and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        client.loop_stop()
        client.disconnect()
        broker.stop()
    _print_run_summary(result)
    truth = source / "ground_truth.csv"
    if truth.is_file():
        print(score_against_truth(result["events"], truth))
    return run_exit_code(result)


def score_against_truth(events: list[dict[str, Any]], truth_csv: Path) -> str:
    """Compare arrivals with the generator's ground truth (one row per car)."""
    import csv

    with truth_csv.open(encoding="utf-8") as fh:
        cars = list(csv.DictReader(fh))
    expected = [c["customer_number"] for c in cars if c.get("customer_number")]
    got = [e["account"]["customer_number"] for e in events if isinstance(e.get("account"), dict)]
    right = sum(1 for c in set(got) if c in expected)
    wrong = sum(1 for c in got if c not in expected)
    unregistered_truth = sum(1 for c in cars if not c.get("customer_number"))
    return (f"ground truth: {len(cars)} cars ({len(expected)} registered, "
            f"{unregistered_truth} unregistered); {len(events)} arrivals, {right} right accounts, "
            f"{wrong} wrong accounts, {len(got) - len(set(got))} duplicate arrivals")




# -- read ---------------------------------------------------------------------------------


def cmd_read(args: argparse.Namespace, settings: Settings) -> int:
    # what cannot be read is said before the model loads, and without it if nothing can be
    problems = {path: _image_problem(path) for path in args.images}
    reader = build_reader(settings) if None in problems.values() else None
    out = []
    for path in args.images:
        try:
            if problems[path]:
                raise UnreadableImage(str(problems[path]))
            image = decode_image(path)
        except UnreadableImage as exc:
            if args.json:  # stdout is the JSON: say it on stderr too
                log.error("%s: %s", path, exc)
            out.append({"file": str(path), "error": str(exc), "plates": []})
            continue
        assert reader is not None
        plates = []
        for read in reader.read_still(image):
            plates.append({
                "text": read.plate.display if read.plate else None,
                "compact": read.plate.compact if read.plate else None,
                "raw": read.raw,
                "confidence": round(read.confidence, 3),
                "box": read.box.as_list(),
                "source": read.source,
            })
        out.append({"file": str(path), "plates": plates})
    if args.json:
        print_json(out)
    else:
        _print_reads(out)
    return 0 if all("error" not in i for i in out) else 1


def _image_problem(path: Path) -> str | None:
    """Why ``path`` cannot be an image to read, or None."""
    if path.is_dir():
        return f"a folder: give the images in it ({path / '*.jpg'})"
    if not path.is_file():
        return "no such file"
    return None


def _print_reads(out: list[dict[str, Any]]) -> None:
    for item in out:
        if "error" in item:
            print(f"{item['file']}: {item['error']}")
            continue
        print(item["file"])
        if not item["plates"]:
            print("  no plate found")
        for p in item["plates"]:
            shown = p["text"] or f"(not German) {p['raw']!r}"
            print(f"  {shown:<16} confidence {p['confidence']:.2f}  box {p['box']} "
                  f"({p['source']})")




# -- eval ---------------------------------------------------------------------------------


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    import dataclasses

    from pipeline.evaluation import evaluate, evaluate_passages, format_report, load_labels

    models = ["stock", "plate"] if args.compare else [settings.reading.recogniser]
    try:  # every labels.csv is checked before a model is loaded
        labelled = {folder: load_labels(folder, args.labels) for folder in args.folders}
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    results: dict[str, dict[str, Any]] = {}
    for model in models:
        reading = dataclasses.replace(settings.reading, recogniser=model)
        reader = build_reader(dataclasses.replace(settings, reading=reading))
        for folder, items in labelled.items():
            # the folder as given: a/plates and b/plates are two reports, not one
            label = f"{folder} [{reader.recogniser.name}]"

            def progress(done: int, total: int, label: str = label) -> None:
                if done % 10 == 0 or done == total:
                    print(f"  {label}: {done}/{total}", file=sys.stderr, flush=True)

            report = evaluate(reader, items, progress)
            results[label] = report.summary()
            passages = evaluate_passages(reader, folder, settings.tracking,
                                         settings.camera.folder_fps)
            if passages is not None:
                results[label]["per_passage"] = passages
    if args.json:
        print_json(results)
    else:
        for name, summary in results.items():
            print(format_report(name, summary))
    return 0
