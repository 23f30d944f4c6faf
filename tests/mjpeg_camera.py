"""A real network camera for the tests: an HTTP MJPEG stream (``multipart/x-mixed-replace``,
what many IP cameras serve) of a list of JPEG files in a loop, on loopback. It can be killed
(connections closed, port refused) and started again, or made to hang (connection open,
no more frames), so the pipeline's reconnects are tested through OpenCV's real FFmpeg reader.
"""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BOUNDARY = b"frame"


class MjpegCamera:
    """``url`` streams ``frames`` at ``fps``; ``stop()``/``start()`` kill and restart it on the
    same port; ``hang()`` keeps connections open but stops sending."""

    def __init__(self, frames: list[Path], port: int, fps: float = 10.0) -> None:
        self.jpegs = [p.read_bytes() for p in frames]
        self.port = port
        self.fps = fps
        self.url = f"http://127.0.0.1:{port}/video.mjpg"
        self.sent = 0
        self._server: ThreadingHTTPServer | None = None
        self._alive = threading.Event()
        self._hung = threading.Event()
        self._conns: list[socket.socket] = []

    def start(self) -> MjpegCamera:
        camera = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                self.send_response(200)
                self.send_header("Content-Type",
                                 f"multipart/x-mixed-replace; boundary={BOUNDARY.decode()}")
                self.end_headers()
                camera._conns.append(self.connection)
                i = 0
                try:
                    while camera._alive.is_set():
                        if camera._hung.is_set():
                            time.sleep(0.05)
                            continue
                        data = camera.jpegs[i % len(camera.jpegs)]
                        self.wfile.write(b"--" + BOUNDARY + b"\r\nContent-Type: image/jpeg\r\n"
                                         + f"Content-Length: {len(data)}\r\n\r\n".encode()
                                         + data + b"\r\n")
                        camera.sent += 1
                        i += 1
                        time.sleep(1.0 / camera.fps)
                except OSError:
                    pass

            def log_message(self, *args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._alive.set()
        self._hung.clear()
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def hang(self) -> None:
        self._hung.set()

    def stop(self) -> None:
        """The camera dies: streams cut, new connections refused."""
        self._alive.clear()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for conn in self._conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            except OSError:
                pass
        self._conns.clear()
