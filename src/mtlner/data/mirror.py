"""Serve a local mirror of the HUNER download URLs on 127.0.0.1 while a command runs.

A mirror is a folder laid out as ``<host>/<path>`` of each download URL (the layout
``huner_url_base`` expects, see docs/huner.md). On a machine without internet this runs the
real download -> convert -> split chain on files someone copied there::

    python -m mtlner.data.mirror ../shared/huner-mirror -- snakemake --cores 2 --configfile config/reference.yaml

The command gets ``--config huner_url_base=http://127.0.0.1:<port>`` appended when it is
snakemake (so nothing in the config file has to change), and ``MTLNER_HUNER_URL_BASE`` in its
environment either way. The server binds to 127.0.0.1 only and stops when the command ends.
"""

from __future__ import annotations

import argparse
import functools
import os
import subprocess
import sys
import threading
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _QuietHandler(SimpleHTTPRequestHandler):
    hits: list[str] | None = None  # when set, every request path is appended (tests)

    def log_message(self, *args):  # the download code logs what it fetches
        pass

    def do_GET(self):
        if self.hits is not None:
            self.hits.append(self.path)
        super().do_GET()


@contextmanager
def serve(root: str | Path, hits: list[str] | None = None):
    """Serve ``root`` on 127.0.0.1 (a free port) in a thread; yields the base URL. Request
    paths are appended to ``hits`` when it is given."""
    root = Path(root)
    if not root.is_dir():
        raise SystemExit(
            f"mtlner.data.mirror: error: mirror folder {root} does not exist (give the folder laid out as <host>/<path>)"
        )
    handler = type("_Handler", (_QuietHandler,), {"hits": hits})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mtlner.data.mirror", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("root", help="mirror folder laid out as <host>/<path> of the download URLs")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run while serving")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    with serve(args.root) as url:
        if Path(command[0]).name == "snakemake":
            setting = f"huner_url_base={url}"
            # one --config only: a second one would replace the first's values
            if "--config" in command:
                command.insert(command.index("--config") + 1, setting)
            else:
                command += ["--config", setting]
        print(f"mtlner.data.mirror: serving {args.root} at {url}", file=sys.stderr)
        return subprocess.call(command, env={**os.environ, "MTLNER_HUNER_URL_BASE": url})


if __name__ == "__main__":
    sys.exit(main())
