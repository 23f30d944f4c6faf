"""The CLI's commands: wiring of the stages from settings, and output for people or scripts."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

from pipeline.cli import UserError, install_stop_handlers, print_json
from pipeline.config import Settings
from pipeline.detection.gate import MotionGate
from pipeline.detection.morphology import MorphologyDetector
from pipeline.detection.roi import RegionOfInterest
from pipeline.events.arrival import Topics
from pipeline.events.mqtt_publisher import MqttPublisher, MqttSettings
from pipeline.frames.grabber import LatestFrameGrabber
from pipeline.frames.sources import open_source, read_image
from pipeline.matching.store_sync import StoreMatcher
from pipeline.plate.districts import district_codes
from pipeline.plate.grammar import plate_from_label
from pipeline.privacy.debug_crops import CropSaver, purge_crops
from pipeline.privacy.pseudonyms import load_or_create_key
from pipeline.privacy.retention import PurgeScheduler
from pipeline.reading.plate_reader import PlateReader
from pipeline.reading.recognisers import DEFAULT_MODELS_DIR, default_threads, load_recogniser
from pipeline.store.accounts_csv import Account, CsvImportError, read_accounts_csv
from pipeline.store.sqlite_store import SqliteStore
from pipeline.tracking.passages import PassageTracker

log = logging.getLogger("kennzeichen-checkin")


def build_reader(settings: Settings) -> PlateReader:
    cfg = settings.reading
    models = Path(cfg.models_dir) if cfg.models_dir else DEFAULT_MODELS_DIR
    recogniser = load_recogniser(models, prefer=cfg.recogniser,
                                 threads=cfg.torch_threads or default_threads())
    roi = RegionOfInterest(settings.camera.roi) if settings.camera.roi else None
    saver = None
    if settings.debug.save_crops:
        log.warning("debug.save_crops is on: plate crops are written to %s and deleted after "
                    "%.0f h", settings.debug.crops_dir, settings.debug.crops_max_age_h)
        saver = CropSaver(Path(settings.debug.crops_dir))
    return PlateReader(MorphologyDetector(), recogniser, district_codes(),
                       max_crops=cfg.max_crops, roi=roi, on_crop=saver)


def crops_retention(settings: Settings) -> tuple[Path, float] | None:
    debug = settings.debug
    folder = Path(debug.crops_dir)
    return (folder, debug.crops_max_age_h) if debug.save_crops or folder.is_dir() else None


def open_store(settings: Settings) -> SqliteStore:
    return SqliteStore(Path(settings.database))


# -- run ----------------------------------------------------------------------------------


def run_pipeline(settings: Settings, source_spec: str, mqtt: MqttSettings,
                 stop: threading.Event | None = None, restart: bool = False) -> dict[str, Any]:
    """Run the ingest loop on one source until it ends (or ``stop``), then flush the outbox.
    A folder or file resumes where an interrupted run left it (``restart``: from the top)."""
    from pipeline.checkin import CheckIn, RunSummary, run_source
    from pipeline.events.status import StatusReporter

    stop = stop or threading.Event()
    store = open_store(settings)
    live = source_spec.isdigit() or "://" in source_spec
    replay_key = None if live else str(Path(source_spec).resolve())
    start = 0
    if replay_key is not None and not restart:
        start, done = store.checkpoint(replay_key)
        if done:
            log.warning("%s was processed completely before; nothing to do (--restart reads "
                        "it again)", source_spec)
            stop.set()
        elif start:
            log.info("resuming %s at frame %d, where the last run stopped", source_spec, start)
    source: Any = open_source(source_spec, fps=settings.camera.folder_fps, start=start)
    if getattr(source, "live", False):
        source = LatestFrameGrabber(source)  # never fall behind a live camera
    topics = Topics(settings.prefix)
    publisher = MqttPublisher(mqtt, store, topics.availability)
    summary = RunSummary()

    def counters() -> dict[str, float | int | None]:
        return {"fps": summary.frames / summary.seconds if summary.seconds else 0.0,
                "frames": summary.frames, "dropped": getattr(source, "dropped", 0),
                "last_arrival_at": summary.last_arrival_at,
                "outbox_depth": store.outbox_depth(), "broker_connected": publisher.connected}

    purger = PurgeScheduler(store, settings.privacy, crops=crops_retention(settings))
    status = StatusReporter(topics, settings.camera.id, settings.camera.site, source.stats,
                            counters, publisher.publish_retained, settings.status_interval_s)
    try:
        backlog = store.outbox_depth()
        if backlog:
            log.info("%d event(s) from an earlier run wait in the outbox; sending them first",
                     backlog)
        publisher.start()
        reader = build_reader(settings)
        matcher = StoreMatcher(store, settings.matching)
        checkin = CheckIn(reader, PassageTracker(settings.tracking), matcher, store,
                          topics, settings.camera.id, settings.camera.site,
                          hmac_key=load_or_create_key(settings.hmac_key_path),
                          on_event=lambda _e: publisher.notify(),
                          detail=settings.privacy.matched_payload,
                          gate=MotionGate() if settings.reading.motion_gate else None,
                          replay_key=replay_key)
        status.start()
        purger.start()
        save = None if replay_key is None else (
            lambda frame, done: store.save_checkpoint(replay_key, frame, done))
        run_source(source, checkin, stop, summary=summary, checkpoint=save)
        delivered = publisher.flush(settings.flush_timeout_s)
        undelivered = store.outbox_depth()
        if not delivered:
            log.warning("%d event(s) not acknowledged by the broker within %.0f s; they stay in "
                        "the outbox %s and are sent on the next start", undelivered,
                        settings.flush_timeout_s, settings.database)
        status.stop()
    finally:
        purger.stop()
        publisher.stop()
        store.close()
    timings = reader.timings
    return {
        "source": source_spec,
        "frames": summary.frames,
        "frames_dropped": getattr(source, "dropped", 0),
        "corrupt_frames": summary.corrupt,
        "arrivals": summary.passages,
        "matched": summary.matched,
        "unregistered": summary.unregistered,
        "published": publisher.published,
        "undelivered": undelivered,
        "seconds": round(summary.seconds, 2),
        "detect_ms_mean": _mean(timings.detect_ms),
        "recognise_ms_mean": _mean(timings.recognise_ms),
        "recogniser": reader.recogniser.name,
        "events": [e.payload for e in summary.events],
    }


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    stop = threading.Event()
    install_stop_handlers(stop)
    broker = None
    mqtt = settings.mqtt
    if args.local_broker:
        from pipeline.events.local_broker import start_local_broker

        broker = start_local_broker()
        mqtt = MqttSettings(host="127.0.0.1", port=broker.port)
    try:
        result = run_pipeline(settings, args.source, mqtt, stop, restart=args.restart)
    finally:
        if broker is not None:
            broker.stop()
    if args.json:
        print_json({k: v for k, v in result.items()})
    else:
        _print_run_summary(result)
    return 0 if result["undelivered"] == 0 else 3


def _print_run_summary(result: dict[str, Any]) -> None:
    print(f"{result['frames']} frames ({result['corrupt_frames']} unreadable) in "
          f"{result['seconds']} s with {result['recogniser']}: {result['arrivals']} arrivals, "
          f"{result['matched']} matched, {result['unregistered']} unregistered; "
          f"{result['published']} published, {result['undelivered']} waiting in the outbox")


# -- read ---------------------------------------------------------------------------------


def cmd_read(args: argparse.Namespace, settings: Settings) -> int:
    reader = build_reader(settings)
    out = []
    for path in args.images:
        image = read_image(path) if path.is_file() else None
        if image is None:
            log.error("%s: not a readable image", path)
            out.append({"file": str(path), "error": "not a readable image", "plates": []})
            continue
        plates = []
        for read in reader.read(image):
            plates.append({
                "text": read.plate.display if read.plate else None,
                "compact": read.plate.compact if read.plate else None,
                "raw": read.raw,
                "confidence": round(read.confidence, 3),
                "box": read.box.as_list(),
            })
        out.append({"file": str(path), "plates": plates})
    if args.json:
        print_json(out)
    else:
        for item in out:
            if "error" in item:
                print(f"{item['file']}: {item['error']}")
                continue
            print(item["file"])
            if not item["plates"]:
                print("  no plate found")
            for p in item["plates"]:
                shown = p["text"] or f"(not German) {p['raw']!r}"
                print(f"  {shown:<16} confidence {p['confidence']:.2f}  box {p['box']}")
    return 0 if all("error" not in i for i in out) else 1


# -- accounts -----------------------------------------------------------------------------


def _account_json(acc: Account) -> dict[str, Any]:
    return {"customer_number": acc.customer_number, "display_name": acc.display_name,
            "visit_reason": acc.visit_reason, "plates": list(acc.plate_displays)}


def cmd_accounts(args: argparse.Namespace, settings: Settings) -> int:
    action = args.accounts_command
    if action == "import":
        try:
            accounts = read_accounts_csv(args.file, district_codes())
        except CsvImportError as exc:
            raise UserError(str(exc)) from exc
        store = open_store(settings)
        try:
            count = store.import_accounts(accounts, replace=args.replace)
        except ValueError as exc:
            raise UserError(f"{args.file}: {exc}") from exc
        finally:
            store.close()
        plates = sum(len(a.plates) for a in accounts)
        if args.json:
            print_json({"imported_accounts": count, "plates": plates,
                        "database": settings.database})
        else:
            print(f"imported {count} accounts with {plates} plates into {settings.database}")
        return 0
    store = open_store(settings)
    try:
        if action == "list":
            accounts = store.accounts()
            if args.json:
                print_json([_account_json(a) for a in accounts])
            else:
                for a in accounts:
                    print(f"{a.customer_number:<10} {a.display_name:<28} "
                          f"{', '.join(a.plate_displays):<24} {a.visit_reason}")
                print(f"{len(accounts)} accounts")
            return 0
        if action == "add":
            try:
                plates = [plate_from_label(p, district_codes()) for p in args.plate]
            except ValueError as exc:
                raise UserError(str(exc)) from exc
            acc = Account(args.customer_number, args.name, tuple(p.compact for p in plates),
                          args.reason, tuple(p.display for p in plates))
            try:
                store.import_accounts([acc])
            except ValueError as exc:
                raise UserError(str(exc)) from exc
            print(f"saved customer {acc.customer_number} with {', '.join(acc.plate_displays)}")
            return 0
        if action in ("export", "forget"):
            data = store.export_customer(args.customer_number)
            if data is None:
                raise UserError(f"customer {args.customer_number} not found; "
                                "see 'kennzeichen-checkin accounts list'")
        if action == "export":
            print_json(data)
            return 0
        if action == "forget":
            if not args.yes:
                account: Any = data["account"]
                reads: Any = data["reads"]
                pending: Any = data["events_not_yet_delivered"]
                plates = len(account["plates"]) if account else 0
                print(f"would erase customer {args.customer_number}: account, {plates} "
                      f"plate(s), {len(reads)} read(s), {len(pending)} undelivered event(s); "
                      "add --yes to do it")
                return 0
            counts = store.forget_customer(args.customer_number)
            if counts["undelivered_events_dropped"]:
                log.warning("dropped %d undelivered event(s) of the erased customer",
                            counts["undelivered_events_dropped"])
            if args.json:
                print_json(counts)
            else:
                print(f"erased customer {args.customer_number}: " + ", ".join(
                    f"{v} {k.replace('_', ' ')}" for k, v in counts.items()))
            return 0
        if action == "remove":
            if not store.remove_account(args.customer_number):
                raise UserError(f"customer {args.customer_number} not found; "
                                "see 'kennzeichen-checkin accounts list'")
            print(f"removed customer {args.customer_number} and their plates")
            return 0
    finally:
        store.close()
    raise UserError(f"unknown accounts action {action}")


# -- events -------------------------------------------------------------------------------


def format_arrival(payload: dict[str, Any]) -> str:
    """One line for staff at a window."""
    when = str(payload.get("timestamp", ""))[11:19]
    account = payload.get("account")
    if isinstance(account, dict):
        reason = f" - {account['visit_reason']}" if account.get("visit_reason") else ""
        name = account.get("display_name") or "customer"
        return (f"{when}  {payload.get('plate', ''):<12} {name} "
                f"(#{account['customer_number']}){reason}")
    return f"{when}  {'':<12} unregistered car"


def subscribe(mqtt: MqttSettings, topic: str, on_payload: Any) -> Any:
    """Subscribe (QoS 1) and call ``on_payload(dict)`` for every JSON message; returns the
    running paho client."""
    import uuid

    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    client = paho.Client(CallbackAPIVersion.VERSION2,
                         client_id=f"kennzeichen-tail-{uuid.uuid4().hex[:8]}")
    if mqtt.username:
        client.username_pw_set(mqtt.username, mqtt.password or None)
    if mqtt.tls_ca:
        client.tls_set(ca_certs=mqtt.tls_ca)
    subscribed = threading.Event()

    def on_connect(c: Any, u: Any, f: Any, rc: Any, p: Any) -> None:
        if not rc.is_failure:
            c.subscribe(topic, qos=1)

    def on_message(c: Any, u: Any, msg: Any) -> None:
        try:
            on_payload(json.loads(msg.payload))
        except (ValueError, TypeError):
            log.warning("ignoring a non-JSON message on %s", msg.topic)

    client.on_connect = on_connect
    client.on_subscribe = lambda *a: subscribed.set()
    client.on_message = on_message
    client.reconnect_delay_set(1, 30)
    client.connect_async(mqtt.host, mqtt.port)
    client.loop_start()
    if not subscribed.wait(10):
        log.warning("not subscribed to %s:%d yet; still trying", mqtt.host, mqtt.port)
    return client


def cmd_events(args: argparse.Namespace, settings: Settings) -> int:
    topic = Topics(settings.prefix).arrival
    seen = threading.Event()
    count = [0]

    def show(payload: dict[str, Any]) -> None:
        print(json.dumps(payload, ensure_ascii=False) if args.json else format_arrival(payload),
              flush=True)
        count[0] += 1
        if args.count and count[0] >= args.count:
            seen.set()

    client = subscribe(settings.mqtt, topic, show)
    print(f"listening on {settings.mqtt.host}:{settings.mqtt.port} {topic} (Ctrl-C ends)",
          file=sys.stderr)
    try:
        while not seen.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        client.loop_stop()
        client.disconnect()
    return 0


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
        count = store.import_accounts(read_accounts_csv(accounts_csv, district_codes()))
        print(f"demo: imported {count} sample accounts into {settings.database}")
    store.close()
    broker = start_local_broker()
    mqtt = MqttSettings(host="127.0.0.1", port=broker.port)
    received: list[dict[str, Any]] = []

    def show(payload: dict[str, Any]) -> None:
        received.append(payload)
        print(f"  MQTT arrival  {format_arrival(payload)}", flush=True)

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
    return 0 if result["undelivered"] == 0 else 3


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


# -- privacy ------------------------------------------------------------------------------


def cmd_purge(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import UTC, datetime

    from pipeline.privacy.retention import cutoffs, purge

    store = open_store(settings)
    try:
        now = datetime.now(UTC)
        report = purge(store, settings.privacy, now, dry_run=args.dry_run)
    finally:
        store.close()
    crops = crops_retention(settings)
    crops_deleted = purge_crops(*crops) if crops and not args.dry_run else 0
    unregistered, matched = cutoffs(now, settings.privacy)
    data = {"dry_run": args.dry_run, "unregistered_before": unregistered,
            "matched_plates_before": matched, **report.__dict__,
            "debug_crops_deleted": crops_deleted}
    if args.json:
        print_json(data)
    else:
        verb = "would delete" if args.dry_run else "deleted"
        print(f"{verb} {report.unregistered_reads_deleted} reads of unregistered cars (seen "
              f"before {unregistered}) and plate text of {report.matched_plates_removed} "
              f"matched reads (before {matched}); {report.stale_outbox_dropped} undelivered "
              "events of deleted reads")
    return 0


def cmd_campaign(args: argparse.Namespace, settings: Settings) -> int:
    if not args.yes:
        raise UserError("campaign close deletes every account, plate and pseudonym key and "
                        "cannot be undone: add --yes to do it")
    store = open_store(settings)
    try:
        counts = store.close_campaign()
    finally:
        store.close()
    key = settings.hmac_key_path
    counts["hmac_key_deleted"] = int(key.is_file())
    key.unlink(missing_ok=True)
    if args.json:
        print_json(counts)
    else:
        print("campaign closed: " + ", ".join(f"{v} {k.replace('_', ' ')}"
                                              for k, v in counts.items())
              + "; anonymous arrival statistics kept")
    return 0


# -- eval ---------------------------------------------------------------------------------


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    import dataclasses

    from pipeline.evaluation import evaluate, format_report, load_labels

    models = ["stock", "plate"] if args.compare else [settings.reading.recogniser]
    results: dict[str, dict[str, Any]] = {}
    for model in models:
        reading = dataclasses.replace(settings.reading, recogniser=model)
        reader = build_reader(dataclasses.replace(settings, reading=reading))
        for folder in args.folders:
            try:
                items = load_labels(folder, args.labels)
            except ValueError as exc:
                raise UserError(str(exc)) from exc

            label = f"{folder.name} [{reader.recogniser.name}]"

            def progress(done: int, total: int, label: str = label) -> None:
                if done % 10 == 0 or done == total:
                    print(f"  {label}: {done}/{total}", file=sys.stderr, flush=True)

            report = evaluate(reader, items, progress)
            results[label] = report.summary()
    if args.json:
        print_json(results)
    else:
        for name, summary in results.items():
            print(format_report(name, summary))
    return 0


# -- reads (operator) ---------------------------------------------------------------------


def parse_since(text: str) -> float:
    """'90s', '10m', '2h', '1d' -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        return float(text[:-1]) * units[text[-1]]
    except (KeyError, ValueError, IndexError):
        raise UserError(f"--since {text!r}: use a number with s, m, h or d, e.g. 10m") from None


def _read_json(read: Any) -> dict[str, Any]:
    data = dict(read.__dict__)
    data.pop("plate_compact", None)
    return data


def deliver_now(settings: Settings, store: SqliteStore, timeout: float = 5.0) -> bool:
    """Try to hand queued events to the broker right away (a running pipeline would also do
    it); what is not acknowledged stays in the outbox."""
    if store.outbox_depth() == 0:
        return True
    publisher = MqttPublisher(settings.mqtt, store, None)
    publisher.start()
    try:
        return publisher.flush(timeout)
    finally:
        publisher.stop()


def cmd_reads(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import UTC, datetime, timedelta

    from pipeline.events.arrival import iso
    from pipeline.operator.corrections import CorrectionError, Corrections, operator_name

    store = open_store(settings)
    try:
        action = args.reads_command
        if action == "list":
            since = datetime.now(UTC) - timedelta(seconds=parse_since(args.since))
            reads = store.list_reads(iso(since), args.status)
            if args.json:
                print_json([_read_json(r) for r in reads])
            else:
                for r in reads:
                    print(f"{r.read_id}  {r.seen_at[11:19]}  {r.status:<13} "
                          f"{r.plate_display or '-':<12} {r.confidence:4.2f}  "
                          f"{r.customer_number or ''}{'  (corrected)' if r.corrected_at else ''}")
                print(f"{len(reads)} reads since {iso(since)}")
            return 0
        if action == "audit":
            entries = store.audit_log(args.read_id)
            if args.json:
                print_json([e.__dict__ for e in entries])
            else:
                for e in entries:
                    print(f"{e.at}  {e.operator:<12} {e.action:<8} {e.read_id}  "
                          f"{e.before} -> {e.after}")
            return 0
        corrections = Corrections(store, Topics(settings.prefix), settings.camera.site,
                                  operator_name(args.operator), settings.privacy.matched_payload)
        try:
            if action == "correct":
                result = corrections.correct_plate(args.read_id, args.plate, args.force)
            elif action == "assign":
                result = corrections.assign(args.read_id, args.customer, args.force)
            elif action == "dismiss":
                result = corrections.dismiss(args.read_id, args.force)
            else:
                result = corrections.undo(args.read_id)
        except CorrectionError as exc:
            raise UserError(str(exc)) from exc
        sent = deliver_now(settings, store)
        if args.json:
            print_json({"read": _read_json(result.read), "event": result.payload,
                        "delivered": sent})
        else:
            read = result.read
            plate = f" {read.plate_display}" if read.plate_display else ""
            customer = f" customer {read.customer_number}" if read.customer_number else ""
            delivery = "published" if sent else ("queued in the outbox (broker not reachable "
                                                 "now; the running pipeline or next run sends it)")
            print(f"read {read.read_id}: {read.status}{plate}{customer}; correction "
                  f"{result.event_id[:8]} {delivery}")
        return 0
    finally:
        store.close()


def cmd_console(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.operator.console import ConsoleApp
    from pipeline.operator.corrections import Corrections, operator_name

    store = open_store(settings)
    try:
        corrections = Corrections(store, Topics(settings.prefix), settings.camera.site,
                                  operator_name(args.operator), settings.privacy.matched_payload)
        ConsoleApp(store, corrections, lambda: deliver_now(settings, store)).run()
    finally:
        store.close()
    return 0


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.bench.realtime import bench, format_result, to_json

    result = bench(args.resolution, args.seconds, args.seed, args.cache, args.baseline_frames,
                   progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    print(to_json(result) if args.json else format_result(result))
    return 0
