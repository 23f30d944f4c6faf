"""The drive-in's own view of its queue: ``queue run|show``, ``served``, ``display``, ``stats``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pipeline.config import Settings

log = logging.getLogger("kennzeichen-checkin")


def _wait_until_stopped() -> None:
    from pipeline.terminal import install_stop_handlers

    stop = threading.Event()
    install_stop_handlers(stop)
    while not stop.wait(0.5):
        pass


def _start_queue_service(settings: Settings, with_stats: bool) -> tuple[Any, Any]:
    from pipeline.assembly import open_store
    from pipeline.queue.service import QueueService

    store = open_store(settings) if with_stats else None
    service = QueueService(settings.mqtt, settings.prefix, settings.camera.site, settings.queue,
                           store)
    service.start()
    return service, store


def cmd_queue(args: argparse.Namespace, settings: Settings) -> int:
    if args.queue_command == "show":
        return _show(args, settings)
    from pipeline.metrics.exporter import QUEUE, start_exporter

    service, store = _start_queue_service(settings, not args.no_stats)
    log.info("queue service for %s: %d window(s), publishing %s (Ctrl-C ends)",
             settings.camera.site, settings.queue.windows, service.queue_topic)
    exporter = None
    try:
        exporter = start_exporter(QUEUE, service.figures, settings.metrics.host,
                                  settings.metrics.queue_port)
        _wait_until_stopped()
    finally:
        if exporter is not None:
            exporter.stop()
        service.stop()
        if store is not None:
            store.close()
    return 0


def _latest_queue(settings: Settings, timeout: float, accept: Any = lambda payload: True,
                  subscribed: threading.Event | None = None) -> dict[str, Any] | None:
    """The retained queue message (or the first one ``accept`` takes) within ``timeout``;
    ``subscribed`` is set once the broker has confirmed the subscription."""
    from pipeline.events.mqtt_client import make_client
    from pipeline.events.topics import Topics

    got: list[dict[str, Any]] = []
    done = threading.Event()
    client = make_client(settings.mqtt, "kennzeichen-queue-cli")

    def on_message(c: Any, u: Any, msg: Any) -> None:
        try:
            payload = json.loads(msg.payload)
        except ValueError:
            return
        if isinstance(payload, dict) and accept(payload):
            got.append(payload)
            done.set()

    client.on_connect = lambda c, u, f, rc, p: c.subscribe(Topics(settings.prefix).queue, 1)
    if subscribed is not None:
        client.on_subscribe = lambda *a: subscribed.set()
    client.on_message = on_message
    client.connect_async(settings.mqtt.host, settings.mqtt.port)
    client.loop_start()
    try:
        done.wait(timeout)
    finally:
        client.disconnect()
        client.loop_stop()
    return got[-1] if got else None


def _show(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.terminal import UserError, print_json

    queue = _latest_queue(settings, args.timeout)
    if queue is None:
        raise UserError(f"no queue message on {settings.mqtt.host}:{settings.mqtt.port} "
                        f"within {args.timeout:.0f} s: is 'kennzeichen-checkin queue run' "
                        "running?")
    if args.json:
        print_json(queue)
        return 0
    print(f"{queue.get('cars_in_loop', 0)} car(s) in the loop, {queue.get('waiting', 0)} "
          f"waiting; estimated wait {queue.get('estimated_wait_min', '?')} min "
          f"({queue.get('updated_at', '')})")
    for car in queue.get("cars", []):
        who = car.get("display_name") or car.get("status")
        where = "at a window" if car.get("at_window") else "waiting"
        print(f"{car.get('position'):>3}  {car.get('read_id', ''):<12}  {who}"
              f"{' - ' + car['visit_reason'] if car.get('visit_reason') else ''}  "
              f"({where}, {car.get('minutes_in_loop')} min)")
    return 0


def cmd_served(args: argparse.Namespace, settings: Settings) -> int:
    """Publish the window's command and wait for the queue service to confirm it."""
    from pipeline.events.mqtt_client import make_client
    from pipeline.events.topics import Topics
    from pipeline.queue.service import new_command_id
    from pipeline.terminal import UserError, print_json

    command_id = new_command_id()
    command = {"key": args.key, "id": command_id, "window": args.window}
    client = make_client(settings.mqtt, "kennzeichen-served")
    try:
        client.connect(settings.mqtt.host, settings.mqtt.port)
    except OSError as exc:
        raise UserError(f"cannot reach the MQTT broker {settings.mqtt.host}:"
                        f"{settings.mqtt.port} ({exc}); check [mqtt] in the config") from exc
    client.loop_start()
    answer: list[dict[str, Any]] = []
    subscribed = threading.Event()
    watcher = threading.Thread(target=lambda: answer.append(_latest_queue(
        settings, args.timeout,
        lambda p: (p.get("last_command") or {}).get("id") == command_id, subscribed) or {}))
    watcher.start()
    subscribed.wait(args.timeout)  # the confirmation must not go out before we listen
    try:
        info = client.publish(Topics(settings.prefix).served, json.dumps(command), qos=1)
        info.wait_for_publish(timeout=args.timeout)
    finally:
        client.disconnect()
        client.loop_stop()
    watcher.join()
    result = (answer[0] if answer else {}).get("last_command")
    if args.json:
        print_json({"key": args.key, "command_id": command_id, "confirmed": result is not None,
                    "found": bool(result and result.get("found"))})
    if result is None:
        raise UserError(f"sent, but no queue service confirmed it within {args.timeout:.0f} s"
                        ": is 'kennzeichen-checkin queue run' running?")
    if not result.get("found"):
        raise UserError(f"{args.key!r} is not in the loop: give a read id, event id or "
                        "customer number from 'kennzeichen-checkin queue show'")
    if not args.json:
        print(f"served: {args.key} left the queue")
    return 0


def cmd_display(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.display.server import DisplayServer

    display = dataclasses.replace(settings.display,
                                  host=args.host or settings.display.host,
                                  port=args.port if args.port is not None
                                  else settings.display.port)
    service = store = None
    if args.with_queue:
        service, store = _start_queue_service(settings, True)
    from pipeline.metrics.exporter import DISPLAY, start_exporter

    server = DisplayServer(settings.mqtt, settings.prefix, display, settings.queue.detail)
    server.start()
    print(f"window screen:   {server.url}/window\nentrance screen: {server.url}/entrance",
          file=sys.stderr, flush=True)

    def figures() -> dict[str, float]:
        _, queue, connected = server.feed.snapshot()
        return {"broker_up": float(connected), "queue_known": float(queue is not None)}

    exporter = None
    try:
        exporter = start_exporter(DISPLAY, figures, settings.metrics.host,
                                  settings.metrics.display_port)
        _wait_until_stopped()
    finally:
        if exporter is not None:
            exporter.stop()
        server.stop()
        if service is not None:
            service.stop()
        if store is not None:
            store.close()
    return 0


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.assembly import open_store
    from pipeline.stats.queries import load_day
    from pipeline.stats.report import format_table
    from pipeline.terminal import UserError, print_json

    tz = settings.privacy.timezone
    try:
        day = date.fromisoformat(args.day) if args.day else datetime.now(ZoneInfo(tz)).date()
    except ValueError as exc:
        raise UserError(f"--day {args.day!r}: give a date as YYYY-MM-DD") from exc
    store = open_store(settings)
    try:
        stats = load_day(store, day, tz)
    finally:
        store.close()
    if args.png:
        from pipeline.stats.chart import render_png

        render_png(stats, args.png)
    if args.json:
        print_json(dataclasses.asdict(stats))
    else:
        print(format_table(stats))
        if args.png:
            print(f"\nchart: {args.png}")
    return 0


def add_parsers(sub: Any, make: Any) -> None:
    """The queue commands' parsers; ``make`` is the CLI's ``_sub`` (help with an example)."""
    queue = make(sub, "queue", "The drive-in queue: 'run' keeps the retained <prefix>/queue "
                 "topic (cars in the loop, next customers, wait estimate) from the arrivals and "
                 "the windows' served commands; 'show' prints it.",
                 "kennzeichen-checkin --config config/sample-frames.toml queue run")
    queue_sub = queue.add_subparsers(dest="queue_command", metavar="ACTION", required=True)
    run = make(queue_sub, "run", "Run the queue service (Ctrl-C ends); it also records the "
               "anonymous facts 'stats' reports.", "kennzeichen-checkin queue run")
    run.add_argument("--no-stats", action="store_true",
                     help="do not record statistics facts in the database")
    show = make(queue_sub, "show", "Print the current queue.",
                "kennzeichen-checkin queue show --json")
    show.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for it")
    show.add_argument("--json", action="store_true", help="the queue as JSON")

    served = make(sub, "served", "A service window is done with a car: it leaves the queue "
                  "(published on <prefix>/queue/served, confirmed by the queue service).",
                  "kennzeichen-checkin served 10001 --window 2")
    served.add_argument("key", help="read id, event id or customer number (as in 'queue show')")
    served.add_argument("--window", default="", help="which window (for the record)")
    served.add_argument("--timeout", type=float, default=5.0,
                        help="seconds to wait for the confirmation")
    served.add_argument("--json", action="store_true", help="the confirmation as JSON")

    display = make(sub, "display", "Serve the queue screens: /window for the staff (next "
                   "customers), /entrance for the customers (wait in big digits, nothing "
                   "personal).",
                   "kennzeichen-checkin --config config/sample-frames.toml display --port 8080")
    display.add_argument("--host", help="address to listen on (default [display] host)")
    display.add_argument("--port", type=int, help="port (default [display] port)")
    display.add_argument("--with-queue", action="store_true",
                         help="also run the queue service in this process (a single PC; "
                              "not beside a separate 'queue run' for the same site)")

    stats = make(sub, "stats", "The day's statistics from anonymous data (they survive the "
                 "privacy purge): arrivals per 15 minutes, waiting times, registered share, "
                 "corrections per hour.", "kennzeichen-checkin stats --day 2026-11-25 "
                 "--png day.png")
    stats.add_argument("--day", help="local date YYYY-MM-DD (default: today)")
    stats.add_argument("--png", type=Path, help="also draw the charts into this PNG file")
    stats.add_argument("--json", action="store_true", help="the figures as JSON")


HANDLERS = {"queue": cmd_queue, "served": cmd_served, "display": cmd_display,
            "stats": cmd_stats}
