"""The operator's commands: reads list/correct/assign/dismiss/undo/audit, console."""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2

from pipeline.assembly import open_store
from pipeline.config import Settings
from pipeline.domain import iso, local_clock
from pipeline.events.mqtt_publisher import MqttPublisher
from pipeline.events.topics import Topics
from pipeline.store.protocol import Store
from pipeline.terminal import UserError, print_json

if TYPE_CHECKING:
    from pipeline.operator.corrections import Corrections

log = logging.getLogger("kennzeichen-checkin")


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


def deliver_now(settings: Settings, store: Store, timeout: float = 5.0) -> bool:
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
    store = open_store(settings)
    try:
        if args.reads_command == "list":
            return _list_reads(args, settings, store)
        if args.reads_command == "audit":
            return _audit(args, settings, store)
        if args.reads_command == "show":
            return _show_read(args, settings, store)
        return _fix_read(args, settings, store)
    finally:
        store.close()


def _list_reads(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    from datetime import UTC, datetime, timedelta

    since = datetime.now(UTC) - timedelta(seconds=parse_since(args.since))
    reads = store.list_reads(iso(since), args.status)
    crops = store.evidence_reads()
    if args.with_evidence:
        reads = [r for r in reads if r.read_id in crops]
    if args.json:
        print_json([_read_json(r) | {"crops": crops.get(r.read_id, 0)} for r in reads])
        return 0
    zone = settings.privacy.timezone
    if reads:
        print(f"{'read':<12}  {'time':<8}  {'status':<13} {'plate':<12} {'conf':>4}  customer")
    for r in reads:
        print(f"{r.read_id}  {local_clock(r.seen_at, zone)}  {r.status:<13} "
              f"{r.plate_display or '-':<12} {r.confidence:4.2f}  "
              f"{r.customer_number or ''}{'  (corrected)' if r.corrected_at else ''}"
              f"{'  [crop]' if r.read_id in crops else ''}")
    print(f"{len(reads)} reads since {local_clock(iso(since), zone, '%Y-%m-%d %H:%M')} ({zone})")
    return 0


def _show_read(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    """One read with the plate crop kept for deciding it: drawn in the terminal, written to
    ``--image``, or counted in ``--json``."""
    read = store.read(args.read_id)
    if read is None:
        raise UserError(f"no read {args.read_id}; see 'kennzeichen-checkin reads list'")
    crops = store.evidence(read.read_id)
    if args.image is not None:
        if not crops:
            raise UserError(f"read {read.read_id} has no plate crop: only reads that need "
                            "review keep one, until they are decided or purged")
        _write_image(args.image, crops[0])
    if args.json:
        print_json(_read_json(read) | {"crops": len(crops), "image": str(args.image)
                                       if args.image is not None else None})
        return 0
    print(f"{read.read_id}  {local_clock(read.seen_at, settings.privacy.timezone)}  "
          f"{read.status}  {read.plate_display or '-'}  confidence {read.confidence:.2f}"
          f"{'  customer ' + read.customer_number if read.customer_number else ''}")
    if not crops:
        print("(no plate crop kept for this read)")
    elif sys.stdout.isatty():
        from rich.console import Console

        from pipeline.operator.plate_image import half_blocks

        Console().print(half_blocks(crops[0], min(76, shutil.get_terminal_size().columns)))
    else:
        print(f"({len(crops)} plate crop(s) kept: --image FILE writes the best one)")
    return 0


def _write_image(path: Path, jpeg: bytes) -> None:
    """The JPEG as it is, or re-encoded when ``path`` asks for another format (.png)."""
    if path.suffix.lower() in (".jpg", ".jpeg"):
        path.write_bytes(jpeg)
        return
    from pipeline.privacy.evidence import decode

    image = decode(jpeg)
    if image is None or not cv2.imwrite(str(path), image):
        raise UserError(f"cannot write {path}: use a .jpg or .png name in a writable folder")


def _audit(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    entries = store.audit_log(args.read_id)
    if args.json:
        print_json([e.__dict__ for e in entries])
        return 0
    for e in entries:
        at = local_clock(e.at, settings.privacy.timezone, "%Y-%m-%d %H:%M:%S")
        print(f"{at}  {e.operator:<12} {e.action:<8} {e.read_id}  {e.before} -> {e.after}")
    return 0


def corrections_for(args: argparse.Namespace, settings: Settings, store: Store
                    ) -> Corrections:
    """The operator's actions on ``store`` with the site's settings."""
    from pipeline.operator.corrections import Corrections, operator_name
    from pipeline.privacy.pseudonyms import load_or_create_key

    return Corrections(store, Topics(settings.prefix), settings.camera.site,
                       operator_name(args.operator), settings.privacy.matched_payload,
                       timezone=settings.privacy.timezone,
                       hmac_key=load_or_create_key(settings.hmac_key_path),
                       dedup_s=settings.tracking.dedup_s)


def _fix_read(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    """correct, assign, dismiss or undo one read, or announce a car by hand (arrive); the
    event is sent at once when the broker is there, else it waits in the outbox."""
    from pipeline.operator.corrections import CorrectionError

    corrections = corrections_for(args, settings, store)
    action = args.reads_command
    try:
        if action == "arrive":
            result = corrections.arrive(args.plate, args.customer, args.force)
        elif action == "correct":
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
        print_json({"read": _read_json(result.read), "event": result.payload, "delivered": sent})
        return 0
    read = result.read
    plate = f" {read.plate_display}" if read.plate_display else ""
    customer = f" customer {read.customer_number}" if read.customer_number else ""
    delivery = "published" if sent else ("queued in the outbox (broker not reachable now; the "
                                         "running pipeline or next run sends it)")
    kind = "arrival" if action == "arrive" else "correction"
    print(f"read {read.read_id}: {read.status}{plate}{customer}; {kind} "
          f"{result.event_id[:8]} {delivery}")
    return 0


def cmd_console(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.operator.console import ConsoleApp, pixel_widget

    pixels = pixel_widget()  # asks the terminal, which it cannot once the app runs
    store = open_store(settings)
    try:
        corrections = corrections_for(args, settings, store)
        ConsoleApp(store, corrections, lambda: deliver_now(settings, store),
                   timezone=settings.privacy.timezone, thresholds=settings.matching,
                   pixels=pixels).run()
    finally:
        store.close()
    return 0
