"""``kennzeichen-checkin display``: a stdlib HTTP server for the window and entrance screens.

One paho subscription to the retained ``<prefix>/queue`` topic feeds every open page through
Server-Sent Events (``/events/window``, ``/events/entrance``); the browser's EventSource
reconnects to us and paho reconnects to the broker, so pages survive restarts of either. Each
page gets only its own view (see ``views``): the entrance page never receives personal data.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

import paho.mqtt.client as mqtt

from pipeline.display.views import DisplaySettings
from pipeline.events.mqtt_client import MqttSettings, make_client
from pipeline.events.topics import Topics

log = logging.getLogger(__name__)

PAGES = {"/": "index.html", "/window": "window.html", "/entrance": "entrance.html",
         "/static/display.css": "display.css", "/static/display.js": "display.js"}
TYPES = {"html": "text/html; charset=utf-8", "css": "text/css; charset=utf-8",
         "js": "text/javascript; charset=utf-8"}
KEEPALIVE_S = 15.0


class QueueFeed:
    """The latest queue message and the broker state; pages wait on ``changed``."""

    def __init__(self, mqtt_settings: MqttSettings, prefix: str) -> None:
        self.topic = Topics(prefix).queue
        self.queue: dict[str, Any] | None = None
        self.connected = False
        self.version = 0
        self.changed = threading.Condition()
        self._mqtt = mqtt_settings
        self.client = make_client(mqtt_settings, "kennzeichen-display")
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *a: self._set(connected=False)
        self.client.on_message = self._on_message

    def start(self) -> None:
        self.client.connect_async(self._mqtt.host, self._mqtt.port,
                                  keepalive=self._mqtt.keepalive)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def snapshot(self) -> tuple[int, dict[str, Any] | None, bool]:
        with self.changed:
            return self.version, self.queue, self.connected

    def _set(self, **values: Any) -> None:
        with self.changed:
            for key, value in values.items():
                setattr(self, key, value)
            self.version += 1
            self.changed.notify_all()

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object,
                    reason_code: mqtt.ReasonCode, properties: object) -> None:
        if reason_code.is_failure:
            log.error("MQTT broker refused the display (%s); retrying", reason_code)
            return
        client.subscribe(self.topic, qos=1)  # the retained message comes at once
        self._set(connected=True)

    def _on_message(self, client: mqtt.Client, userdata: object,
                    msg: mqtt.MQTTMessage) -> None:
        try:
            payload = json.loads(msg.payload)
        except ValueError:
            log.warning("ignoring a non-JSON message on %s", msg.topic)
            return
        if isinstance(payload, dict):
            self._set(queue=payload)


def make_handler(feed: QueueFeed, settings: DisplaySettings, queue_detail: str,
                 stopping: threading.Event) -> type[BaseHTTPRequestHandler]:
    """The request handler class of one server: its feed, the views at the detail allowed
    (never more than the queue topic's), and the server's stop flag."""
    from pipeline.display.views import entrance_view, window_view
    from pipeline.queue.model import QUEUE_DETAILS

    detail = min(settings.window_detail, queue_detail, key=QUEUE_DETAILS.index)

    def view(name: str, queue: dict[str, Any] | None, connected: bool) -> dict[str, Any]:
        if name == "window":
            data = window_view(queue, connected, settings.show_next, detail)
        else:
            data = entrance_view(queue, connected)
        data["title"] = settings.title
        return data

    return type("Handler", (_Handler,), {"feed": feed, "view": staticmethod(view),
                                         "stopping": stopping})


class _Handler(BaseHTTPRequestHandler):
    """The pages, their state as JSON and as server-sent events; ``make_handler`` fills in
    ``feed``, ``view`` and ``stopping``."""

    protocol_version = "HTTP/1.1"
    feed: QueueFeed
    view: Callable[[str, dict[str, Any] | None, bool], dict[str, Any]]
    stopping: threading.Event

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("display %s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path in ("/events/window", "/events/entrance"):
            self._events(path.rsplit("/", 1)[1])
        elif path in ("/state/window", "/state/entrance"):
            _, queue, connected = self.feed.snapshot()
            self._send(200, "application/json",
                       json.dumps(self.view(path.rsplit("/", 1)[1], queue, connected)).encode())
        elif path in PAGES:
            name = PAGES[path]
            body = resources.files("pipeline.display").joinpath("static", name).read_bytes()
            self._send(200, TYPES[name.rsplit(".", 1)[1]], body)
        else:
            self._send(404, TYPES["html"], b"not found: try /window or /entrance")

    def _send(self, code: int, content_type: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _events(self, name: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "keep-alive")
        self.end_headers()
        feed, sent = self.feed, -1
        try:
            while not self.stopping.is_set():
                with feed.changed:
                    feed.changed.wait_for(
                        lambda s=sent: feed.version != s or self.stopping.is_set(),
                        timeout=KEEPALIVE_S)
                version, queue, connected = feed.snapshot()
                if version == sent:
                    self.wfile.write(b": keepalive\n\n")
                else:
                    data = json.dumps(self.view(name, queue, connected), ensure_ascii=False)
                    self.wfile.write(f"retry: 1000\ndata: {data}\n\n".encode())
                    sent = version
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the page went away


class DisplayServer:
    """The HTTP server plus its queue feed; ``start()`` (background) and ``stop()``."""

    def __init__(self, mqtt_settings: MqttSettings, prefix: str, settings: DisplaySettings,
                 queue_detail: str = "name") -> None:
        self.feed = QueueFeed(mqtt_settings, prefix)
        self._stopping = threading.Event()
        handler = make_handler(self.feed, settings, queue_detail, self._stopping)
        self.httpd = ThreadingHTTPServer((settings.host, settings.port), handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="display-http",
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"

    def start(self) -> DisplayServer:
        self.feed.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self.feed.changed:
            self.feed.changed.notify_all()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.feed.stop()
