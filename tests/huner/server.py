"""A bounded local HTTP server for download tests (127.0.0.1 only, stopped by the test)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Behaviours:
    """path -> what to do: ("ok", body) | ("status", code) | ("truncated", body)
    | ("hang", None) | ("fail_then_ok", body). Every request is recorded in ``hits``."""

    def __init__(self):
        self.routes: dict[str, tuple[str, bytes | int | None]] = {}
        self.hits: list[str] = []
        self.release = threading.Event()  # set at shutdown: hanging handlers return


def make_handler(behaviours: Behaviours):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output quiet
            pass

        def do_GET(self):
            behaviours.hits.append(self.path)
            kind, payload = behaviours.routes.get(self.path, ("status", 404))
            if kind == "fail_then_ok":
                behaviours.routes[self.path] = ("ok", payload)
                kind, payload = "status", 500
            if kind == "status":
                self.send_error(payload)
            elif kind == "hang":
                behaviours.release.wait(timeout=5)  # bounded even if the test forgets
            elif kind == "truncated":
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload) * 2))
                self.end_headers()
                self.wfile.write(payload)
                self.close_connection = True
            else:
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

    return Handler


class LocalServer:
    def __init__(self):
        self.behaviours = Behaviours()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(self.behaviours))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.behaviours.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
