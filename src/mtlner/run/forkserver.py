"""Jobs that start warm: a local run's `mtlner` commands fork from one process that has already
imported torch, transformers' BERT code and mtlner, instead of each job importing them again.

Why: on a CPU a training job spends about 5 s between process start and its first optimiser step,
nearly all of it importing torch and transformers (metrics.json ``startup_seconds``); the demo runs
53 such jobs, the paper grid about 230. Forking a process that holds those modules takes
milliseconds. The same idea as Python's ``multiprocessing`` "forkserver" start method, for
whole command lines.

How a job is served::

    snakemake (onstart)  --starts-->  python -m mtlner.run.forkserver serve --socket S
    job shell: python -m mtlner.cli train ...   (MTLNER_FORKSERVER=S in its environment)
        -> connects to S, sends its entry point (mtlner.cli:main), argv, working directory,
           environment and its stdin/stdout/stderr descriptors (SCM_RIGHTS), then waits
    server: fork(); the child takes over those descriptors, directory and environment and runs
        entry(argv); the server reports the child's pid, forwards signals the client
        receives (Ctrl-C, SLURM/Snakemake SIGTERM) and, when the child ends, its exit status
    client: exits with that status (128 + N when the child died of signal N)

So the job's log, exit code and signals are those of an ordinary process, and Snakemake sees no
difference. A job that starts while the server is still importing (it binds its socket only
once its imports are done) waits up to START_WAIT seconds for it. The client falls back to
running the command itself, with one line in the job's log saying why, whenever the server is
absent, still not ready, or refuses: a different Python, an environment variable that libraries read at import time
(``HF_*``, ``TRANSFORMERS_*``, ``PYTHON*``, ``LD_*``...) that differs from the server's, or
mtlner's source changed since the server started (it then exits, so no job runs stale code).

Safety of fork: the server imports modules and nothing else: it never runs a tensor operation
(no OpenMP or MKL thread pool exists to be lost in the child), never initialises CUDA, never
starts a thread or a tokenizer. Each child sets the thread count of its job.

Only a local run uses it (the Snakefile's onstart hook, config ``fork_server``); on a cluster each
job is its own process as before. Imports only the standard library (the client side runs before
anything heavy is loaded).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ENV_SOCKET = "MTLNER_FORKSERVER"
ENV_STARTED = "MTLNER_FORKSERVER_JOB_STARTED"  # "pid:time": set in a served job for what it execs
ENV_DEPTH = "MTLNER_FORKSERVER_DEPTH"  # served jobs inside served jobs (exec chains): a fuse
MAX_DEPTH = 4  # leaks warn -> gpu_slots -> train is 2
_serving = False  # True in a forked job
# Variables read when a library is imported (so a child cannot take a new value over from the
# client): a request whose value differs from the server's is run by the client itself.
IMPORT_TIME_PREFIXES = (
    "HF_",
    "HUGGINGFACE_",
    "TRANSFORMERS_",
    "TORCH",
    "PYTORCH_",
    "CUDA_",
    "NVIDIA_",
    "KMP_",
    "MKL_",
    "OPENBLAS_",
    "GOMP_",
    "PYTHON",
    "LD_",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
)
# (TOKENIZERS_PARALLELISM is read when a tokenizer runs, not at import: mtlner.cli sets it in each
# job.) Thread counts are set per job (torch.set_num_threads), so these may differ: Snakemake sets them
# to each job's threads.
PER_JOB_VARIABLES = {"MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"}
PRELOAD = (
    "torch",
    "transformers",
    "transformers.models.bert.modeling_bert",
    "transformers.models.bert.tokenization_bert",
    "mtlner.cli",
    "mtlner.training.loop",
    "mtlner.training.job",
    "mtlner.training.model",
    "mtlner.training.inference",
    "mtlner.data.windows",
    "mtlner.data.prepare",
    "mtlner.training.cross_test",
    "mtlner.data.leaks",
)
MAX_REQUEST = 1 << 20  # bytes: argv + environment
PID_FILE = "server.pid"  # beside the socket: the server process, while it starts
# Seconds a job waits for a server that is still importing (about 5 s on a CPU, more on a
# loaded one) before it imports torch itself, which takes as long: not much longer than that.
START_WAIT = 15.0

log = logging.getLogger("mtlner.run.forkserver")


# ---------------------------------------------------------------- client side (the job's process)


def forward(argv: list[str], entry: str) -> int | None:
    """Run ``entry(argv)`` in a fork of the server named by $MTLNER_FORKSERVER; its exit status,
    or None when there is no server to take it (the caller then runs the command itself).
    ``entry`` names the function as ``module:function`` (the caller's own ``main``), so this
    module never imports the command line it serves."""
    path = os.environ.get(ENV_SOCKET)
    if not path or _serving:  # in a served job: run here (what it execs forwards again)
        return None
    from mtlner.run import startup

    sock, why = _connect(path)
    if sock is None:  # the job log says why this job imports torch itself
        print(f"mtlner: not forked from the warm process ({why})", file=sys.stderr)
        return None
    request = {
        "argv": argv,
        "entry": entry,
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "python": os.path.realpath(sys.executable),
        # the job's own start, so startup_seconds still counts from the process Snakemake started
        "started": _job_started() or startup.process_start(),
        "depth": _depth(),
    }
    with sock:
        try:
            socket.send_fds(sock, [json.dumps(request).encode() + b"\n"], [0, 1, 2])
            reader = sock.makefile("rb")
            reply = json.loads(reader.readline() or b"{}")
        except (OSError, ValueError):
            return None
        if "pid" not in reply:
            print(f"mtlner: not forked from the warm process ({reply.get('refused', 'no answer')})", file=sys.stderr)
            return None
        return _wait(sock, reader, reply["pid"])


def _server_starting(path: str) -> bool:
    """A workflow's server that has not bound its socket yet: its pid file, beside the socket,
    names a live process (WorkflowServer.start writes it; the socket appears once the imports
    are done)."""
    try:
        pid = int(Path(path).with_name(PID_FILE).read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def _connect(path: str) -> tuple[socket.socket | None, str]:
    """A connection to the server, waiting up to START_WAIT seconds for one that is still
    starting (the first jobs of a run start with it); else None and why."""
    deadline = time.monotonic() + START_WAIT
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            return sock, ""
        except OSError as err:
            sock.close()
            failure = err.strerror or str(err)
        if not _server_starting(path):
            return None, f"no fork server at {path}: {failure}"
        if time.monotonic() > deadline:
            return None, f"the fork server was still starting after {START_WAIT:.0f} s"
        time.sleep(0.05)


def _depth() -> int:
    try:
        return int(os.environ.get(ENV_DEPTH, "0"))
    except ValueError:
        return 0


def _job_started() -> float | None:
    """The first client's start, when this process is a served job that exec'd another command."""
    pid, _, started = os.environ.get(ENV_STARTED, "").partition(":")
    try:
        return float(started) if int(pid) == os.getpid() else None
    except ValueError:
        return None


def _wait(sock: socket.socket, reader, pid: int) -> int:
    """Pass the signals this process gets on to the served child; return its exit status."""

    def relay(signum, frame):
        try:
            sock.sendall(json.dumps({"signal": signum}).encode() + b"\n")
        except OSError:
            pass

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(signum, relay)
    while True:
        try:
            line = reader.readline()
        except InterruptedError:
            continue
        if not line:
            print(f"mtlner: the fork server went away while running this job (pid {pid})", file=sys.stderr)
            return 1
        message = json.loads(line)
        if "exit" in message:
            return int(message["exit"])


# ---------------------------------------------------------------- server side


def source_stamp(folder: str | Path | None = None) -> str:
    """Names, sizes and modification times of mtlner's source files: a changed file -> new stamp."""
    digest = hashlib.sha256()
    for path in sorted(Path(folder or Path(__file__).parents[1]).rglob("*.py")):  # the whole package
        st = path.stat()
        digest.update(f"{path}:{st.st_size}:{st.st_mtime_ns};".encode())
    return digest.hexdigest()


def refusal(request: dict, server_env: dict, python: str, added_by_imports: dict | None = None) -> str | None:
    """Why this server must not run the request (None: it may). ``added_by_imports``: what the
    server's imports set (a served job that execs another mtlner command passes them back)."""
    if int(request.get("depth") or 0) >= MAX_DEPTH:
        return f"{MAX_DEPTH} served jobs deep already (a command that keeps starting itself?)"
    if request.get("python") != python:
        return f"another Python ({request.get('python')}; this server runs {python})"
    env = request.get("env", {})
    added = added_by_imports or {}
    for key in sorted(set(env) | set(server_env)):
        if key in added and env.get(key) in (None, added[key]):
            continue
        if key.startswith(IMPORT_TIME_PREFIXES) and key not in PER_JOB_VARIABLES:
            if env.get(key) != server_env.get(key):
                return f"${key} differs from the server's, and libraries read it at import time"
    return None


class Server:
    def __init__(self, path: str, env: dict, parent: int | None = None, idle_timeout: float = 0.0):
        """``env``: the environment the server started with, before its imports."""
        self.path = path
        self.parent = parent
        self.idle_timeout = idle_timeout
        self.python = os.path.realpath(sys.executable)
        self.env = dict(env)
        # what the imports put into the environment (torch sets TORCHINDUCTOR_CACHE_DIR, say):
        # a fresh process would have it too, so each child gets it
        self.added_by_imports = {k: v for k, v in os.environ.items() if k not in env}
        self.stamp = source_stamp()
        self.jobs: dict[int, socket.socket] = {}  # child pid -> its client's connection
        self.selector = selectors.DefaultSelector()
        self.stopping = False
        self.served = 0

    def run(self) -> None:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        tmp = f"{self.path}.{os.getpid()}.tmp"
        listener.bind(tmp)
        listener.listen(64)
        os.replace(tmp, self.path)  # appears ready, or not at all
        inode = os.stat(self.path).st_ino
        self.selector.register(listener, selectors.EVENT_READ, None)
        signal.signal(signal.SIGTERM, self._signalled)
        signal.signal(signal.SIGINT, self._signalled)
        log.info("ready on %s (pid %d)", self.path, os.getpid())
        idle_since = time.monotonic()
        # Stopping closes the socket at once (no new jobs) but waits for the running ones: their
        # clients wait for an exit status only this process can give them.
        while self.jobs or not self.stopping:
            for key, _ in self.selector.select(timeout=0.1):
                if key.data is None:
                    self._accept(listener)
                else:
                    self._message(key.fileobj, key.data)
            self._reap()
            if self.jobs:
                idle_since = time.monotonic()
            if not self.stopping and self.parent and os.getppid() != self.parent:
                self.stop(f"the workflow (pid {self.parent}) has ended")
            if not self.stopping and self.idle_timeout and time.monotonic() - idle_since > self.idle_timeout:
                self.stop(f"idle for {self.idle_timeout:.0f} s")
            if self.stopping and listener.fileno() >= 0:
                self.selector.unregister(listener)
                listener.close()
                try:
                    if os.stat(self.path).st_ino == inode:  # not a newer server's socket
                        os.unlink(self.path)
                except OSError:
                    pass
                try:  # no job waits for this server to start any more
                    pid_file = Path(self.path).with_name(PID_FILE)
                    if pid_file.read_text().strip() == str(os.getpid()):
                        pid_file.unlink()
                except (OSError, ValueError):
                    pass
                if self.jobs:
                    log.info("waiting for %d running jobs", len(self.jobs))
        log.info("served %d jobs; stopped", self.served)

    def stop(self, reason: str) -> None:
        if not self.stopping:
            log.info("stopping: %s", reason)
        self.stopping = True

    def _signalled(self, signum, frame) -> None:
        self.stop(f"signal {signum}")

    def _accept(self, listener: socket.socket) -> None:
        conn, _ = listener.accept()
        conn.settimeout(10)
        try:
            data, fds, _, _ = socket.recv_fds(conn, MAX_REQUEST, 3)
            while not data.endswith(b"\n") and len(data) < MAX_REQUEST:
                more = conn.recv(MAX_REQUEST)
                if not more:
                    break
                data += more
            request = json.loads(data)
        except (OSError, ValueError) as err:
            log.warning("bad request: %s", err)
            conn.close()
            return
        reason = refusal(request, self.env, self.python, self.added_by_imports)
        if reason is None and source_stamp() != self.stamp:
            reason = "mtlner's source changed since the server started"
            self.stop(reason)  # every later job runs the new code in its own process
        if reason or len(fds) != 3:
            _send(conn, {"refused": reason or "expected the job's stdin, stdout and stderr"})
            for fd in fds:
                os.close(fd)
            conn.close()
            return
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            self._child(conn, fds, request)  # never returns
        for fd in fds:
            os.close(fd)
        conn.settimeout(None)
        self.jobs[pid] = conn
        self.selector.register(conn, selectors.EVENT_READ, pid)
        self.served += 1
        _send(conn, {"pid": pid})
        log.info("pid %d: mtlner %s", pid, " ".join(request["argv"])[:2000])

    def _child(self, conn: socket.socket, fds: list[int], request: dict) -> None:
        code = 1
        try:
            for key in list(self.selector.get_map().values()):
                key.fileobj.close()
            self.selector.close()
            conn.close()
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, signal.SIG_DFL)
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
                os.close(fd)
            code = run_request(request, self.added_by_imports)
        except BaseException:  # noqa: BLE001 - the child must never fall back into the server loop
            traceback.print_exc()
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)

    def _message(self, conn: socket.socket, pid: int) -> None:
        try:
            line = conn.recv(4096)
        except OSError:
            line = b""
        if not line:  # the job's process is gone (killed): its work must stop too
            self.selector.unregister(conn)
            _kill(pid, signal.SIGTERM)
            return
        for part in line.splitlines():
            try:
                _kill(pid, int(json.loads(part)["signal"]))
            except (ValueError, KeyError, TypeError):
                pass

    def _reap(self) -> None:
        while self.jobs:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.jobs.pop(pid, None)
            if conn is None:
                continue
            code = os.waitstatus_to_exitcode(status)
            if code < 0:  # killed by signal N: what a shell reports for it
                code = 128 - code
            if conn in self.selector.get_map():  # not yet unregistered by a closed connection
                self.selector.unregister(conn)
            _send(conn, {"exit": code})
            conn.close()


def run_request(request: dict, added_by_imports: dict | None = None) -> int:
    """In the forked child: become the job (directory, environment, clocks) and run its command."""
    global _serving
    _serving = True
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update({**(added_by_imports or {}), **request["env"]})
    # a job that execs an mtlner command (leaks warn -- ..., gpu_slots) is served again from
    # here; the same process (pid) keeps counting from the client's start
    os.environ[ENV_STARTED] = f"{os.getpid()}:{request.get('started') or 0}"
    os.environ[ENV_DEPTH] = str(int(request.get("depth") or 0) + 1)
    tempfile.tempdir = None  # $TMPDIR is the job's (Snakemake sets it per job)
    from mtlner.run import startup

    startup.set_process_start(request.get("started"))
    logging.root.handlers.clear()  # the server's log format; the command sets up its own
    threads = os.environ.get("OMP_NUM_THREADS", "")
    if threads.isdigit() and int(threads) > 0:
        import torch

        torch.set_num_threads(int(threads))
    import importlib

    module, _, function = request["entry"].partition(":")
    main = getattr(importlib.import_module(module), function)
    sys.argv = ["mtlner", *request["argv"]]
    try:
        return main(request["argv"])
    except SystemExit as done:  # argparse errors, --help
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)


def _send(conn: socket.socket, message: dict) -> None:
    try:
        conn.sendall(json.dumps(message).encode() + b"\n")
    except OSError:
        pass


def _kill(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def preload(modules) -> None:
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as err:  # a missing optional module only costs its jobs the import
            log.warning("cannot preload %s: %s", name, err)


class WorkflowServer:
    """The server of one local workflow run: started by the Snakefile's onstart hook, stopped by
    onsuccess/onerror (and by itself when Snakemake's process ends some other way)."""

    def __init__(self):
        self.process: subprocess.Popen | None = None
        self.folder: str | None = None

    def start(self, python: str, log_path: str | Path) -> None:
        self.folder = tempfile.mkdtemp(prefix="mtlner-forkserver-")  # short: socket paths max ~100 bytes
        path = os.path.join(self.folder, "server.sock")
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log_file:
            self.process = subprocess.Popen(
                [python, "-m", "mtlner.run.forkserver", "--socket", path, "--parent", str(os.getpid())],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the jobs (they pass it on), not the server
            )
        Path(self.folder, PID_FILE).write_text(str(self.process.pid))  # jobs wait while it starts
        os.environ[ENV_SOCKET] = path  # every job Snakemake starts from now on inherits it

    def stop(self) -> None:
        os.environ.pop(ENV_SOCKET, None)
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)
        self.process = self.folder = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mtlner.run.forkserver", description=__doc__.split("\n\n")[0])
    parser.add_argument("--socket", required=True, help="path of the Unix socket to listen on")
    parser.add_argument("--parent", type=int, help="stop when this process (the workflow) ends")
    parser.add_argument("--idle-timeout", type=float, default=0.0, help="stop after this many idle seconds")
    parser.add_argument("--preload", nargs="*", default=list(PRELOAD), help="modules to import before serving")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s forkserver: %(message)s", stream=sys.stderr)
    env = dict(os.environ)
    preload(args.preload)
    Server(args.socket, env, parent=args.parent, idle_timeout=args.idle_timeout).run()
    return 0


if __name__ == "__main__":
    # run the server from the importable module, not this __main__ copy: the served job's
    # mtlner.cli imports mtlner.run.forkserver and must see the state run_request set there
    from mtlner.run import forkserver

    sys.exit(forkserver.main())
