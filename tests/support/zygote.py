"""A warm process that forks one fresh child per command: ``import feast`` costs about 3 s
of CPU, a fork costs milliseconds.

The zygote imports Feast and the libraries it pulls in (never ``feast_federation`` or a
generated repo: a child imports those itself, as a new process would, so what they read from
the environment at import is the child's) and then waits on a Unix socket. For each command
it forks a supervisor, which forks the child and reports the child's pid, then its exit
status. The child takes the caller's standard streams (passed over the socket), the
command's environment, working directory, ``sys.argv`` and ``sys.path`` as ``python`` would
give them, runs the script, module or code as ``__main__``, runs its atexit handlers and
exits.

Two ways in: ``run()`` in this package (``python SCRIPT``, ``python -m MODULE``, ``python -c
CODE`` with this interpreter and no other options), and the commands in ``shims()``, a folder
to put first on PATH where a test runs shell lines or pipeline steps: ``feast-federation``
and ``python`` there hand their command to the zygote. The zygote turns down, and the caller
runs a real interpreter for, a command whose PYTHONPATH adds a folder the zygote's imports did
not have (a test that makes Feast unimportable does so there, the fast tier too) and any
``python`` command but those three forms (``-m pip``, ``-m venv`` and options among them).
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from support.fast_tier import STUB_VARIABLE

# What a plan, an apply, a materialization or a fetch goes on to import (Feast loads its
# provider, compute engine and every online store module lazily): about 0.9 s a child would
# otherwise pay for each command. Those an environment lacks are skipped.
WARM_MODULES = (
    "feast.feature_store", "feast.repo_operations", "feast.infra.registry.sql",
    "feast.infra.registry.file", "feast.infra.passthrough_provider",
    "feast.infra.compute_engines.local.compute", "feast.infra.offline_stores.dask",
    "feast.infra.offline_stores.file", "feast.infra.online_stores.sqlite",
    "feast.infra.online_stores.postgres_online_store.postgres",
    "feast.infra.offline_stores.contrib.postgres_offline_store.postgres",
    "feast.infra.online_stores.redis", "feast.infra.online_stores.dynamodb",
    "feast.infra.online_stores.mysql_online_store", "feast.infra.online_stores.milvus_online_store",
    "feast.monitoring.dqm_job_manager", "feast.transformation.udf_rehydrate",
    "pandas", "pyarrow", "sqlalchemy", "typer", "rich", "yaml", "jinja2", "cookiecutter.main",
)  # fmt: skip
# Imports WARM_MODULES (listed in the zygote's code as a literal).
WARM_UP = f"""
import importlib
for name in {WARM_MODULES!r}:
    try:
        importlib.import_module(name)
    except ImportError:
        pass
"""

SERVER = r"""
import json, os, runpy, signal, socket, sys, threading, traceback, warnings
warnings.simplefilter("ignore")
import feast
@WARM_UP@
assert feast and not any(name.startswith("feast_federation") for name in sys.modules)
ENTRY = "import sys; from feast_federation.cli import main; sys.exit(main())"
NEVER = {"pip", "venv", "ensurepip", "virtualenv"}

def accepts(request):
    path = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
    return (all(os.path.abspath(p) in sys.path for p in path)
            and "@STUB_VARIABLE@" not in request["env"]
            and not (request["mode"] == "module" and request["target"] in NEVER))

def child(request, streams):
    for fd, stream in enumerate(streams):
        os.dup2(stream, fd)
        os.close(stream)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    mode, target, rest = request["mode"], request["target"], request["rest"]
    sys.path[0] = {"script": os.path.dirname(os.path.abspath(target)), "module": os.getcwd(),
                   "code": "", "entry": os.path.dirname(request["argv0"])}[mode]
    sys.argv = [request["argv0"] or {"script": target, "code": "-c"}.get(mode, target), *rest]
    code = 0
    try:
        if mode == "script":
            runpy.run_path(target, run_name="__main__")
        elif mode == "module":
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            exec(compile(ENTRY if mode == "entry" else target, "<string>", "exec"),
                 {"__name__": "__main__"})
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    try:
        import atexit
        atexit._run_exitfuncs()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)

def end_when_caller_leaves(connection, pid, reaped):
    '''A caller that goes away before its command ends (a test stopping a background
    server kills the shim) closes its end: the command and what it started go too.'''
    try:
        while connection.recv(64):
            pass
    except OSError:
        pass
    for signal_number in (signal.SIGTERM, signal.SIGKILL):
        if reaped.wait(0 if signal_number == signal.SIGTERM else 10):
            return
        try:
            os.killpg(pid, signal_number)
        except ProcessLookupError:
            return

def supervise(connection):
    header, streams, _, _ = socket.recv_fds(connection, 16, 3)
    length, body = int(header), b""
    while len(body) < length:
        body += connection.recv(length - len(body))
    request = json.loads(body)
    if not accepts(request):
        connection.sendall(b"fresh\n")
        os._exit(0)
    pid = os.fork()
    if pid == 0:
        connection.close()
        os.setpgid(0, 0)  # its own group: what it starts (a server's workers) goes too
        child(request, streams)
    try:
        os.setpgid(pid, pid)  # in both, whichever runs first
    except OSError:  # the child has set it, or has already ended
        pass
    for stream in streams:
        os.close(stream)
    connection.sendall(f"{pid}\n".encode())
    reaped = threading.Event()
    threading.Thread(target=end_when_caller_leaves, args=(connection, pid, reaped),
                     daemon=True).start()
    _, status = os.waitpid(pid, 0)
    reaped.set()
    try:
        connection.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
    except OSError:  # the caller gave up waiting (a timeout) and killed the child
        pass
    os._exit(0)

signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # supervisors reap themselves
listener = socket.socket(socket.AF_UNIX)
listener.bind(sys.argv[1])
listener.listen(64)
listener.settimeout(1)
parent = os.getppid()
print("ready", flush=True)
while True:
    try:
        connection, _ = listener.accept()
    except TimeoutError:
        if os.getppid() != parent:  # the pytest process is gone, however it ended
            sys.exit(0)
        continue
    connection.settimeout(None)
    if os.fork() == 0:
        listener.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        supervise(connection)
    connection.close()
"""

# The client half, shared by run_forked (imported) and the shims (their whole text).
CLIENT = r"""
import json, os, signal, socket, sys

def command(args):
    '''(mode, target, the rest of argv) for ``python ARGS...``, else None.'''
    if len(args) > 1 and args[0] in ("-m", "-c"):
        return ("module" if args[0] == "-m" else "code"), args[1], list(args[2:])
    if args and not args[0].startswith("-"):
        return "script", args[0], list(args[1:])
    return None

def forked(socket_path, mode, target, rest, env, cwd, streams, argv0="", timeout=None):
    '''The exit status of the command run in a child of the zygote, or None if the zygote
    turned it down; the second value is a function that kills the child.'''
    request = {"mode": mode, "target": target, "rest": rest, "env": env, "cwd": cwd,
               "argv0": argv0}
    body = json.dumps(request).encode()
    with socket.socket(socket.AF_UNIX) as connection:
        connection.connect(socket_path)
        socket.send_fds(connection, [b"%-16d" % len(body)], streams)
        connection.sendall(body)
        replies = connection.makefile()
        first = replies.readline().strip()
        if first == "fresh":
            return None
        connection.settimeout(timeout)
        try:
            return int(replies.readline())
        except TimeoutError:
            os.killpg(int(first), signal.SIGKILL)  # the command and what it started
            raise
"""

SHIM = """#!@PYTHON@ -S
@CLIENT@
real, entry, args = @REAL@, @ENTRY@, sys.argv[1:]
found = ("entry", "", args) if entry else command(args)
status = None
if found:
    status = forked(os.environ["FEAST_FEDERATION_ZYGOTE"], *found, dict(os.environ),
                    os.getcwd(), [0, 1, 2], argv0=real if entry else "")
if status is None:
    os.execv(real, [real, *args])
sys.exit(status if status >= 0 else 128 - status)
"""

_client: dict = {}
exec(compile(CLIENT, "support/zygote.py CLIENT", "exec"), _client)
_lock = threading.Lock()
_zygote: dict[str, object] = {}


def command(args: list) -> tuple[str, str, list[str]] | None:
    """(mode, target, the rest of argv) for a command of this interpreter, else None."""
    args = [str(arg) for arg in args]
    if not args or args[0] != sys.executable:
        return None
    return _client["command"](args[1:])


def available() -> bool:
    """Whether this process may start a zygote: never in the fast tier, where Feast is
    unimportable (its stub rides on PYTHONPATH) and every command runs as it is."""
    return STUB_VARIABLE not in os.environ


def socket_path() -> str:
    """The running zygote's socket (started on first use, one per pytest process)."""
    with _lock:
        if "path" not in _zygote:
            folder = tempfile.mkdtemp(prefix="zyg-")  # short: Unix socket paths are 107 bytes
            path = os.path.join(folder, "socket")
            env = {**os.environ, "PYTHONWARNINGS": "ignore"}
            with open(os.path.join(folder, "zygote.log"), "w") as log:
                code = SERVER.replace("@STUB_VARIABLE@", STUB_VARIABLE)
                code = code.replace("@WARM_UP@", WARM_UP)
                server = [sys.executable, "-c", code, path]
                process = subprocess.Popen(server, env=env, stdout=subprocess.PIPE, stderr=log,
                                           text=True)  # fmt: skip
            started = process.stdout.readline().strip() == "ready"
            assert started, "the zygote did not start: " + Path(log.name).read_text()[-2000:]
            atexit.register(stop)
            _zygote.update(path=path, process=process, folder=folder)
        return _zygote["path"]


def stop() -> None:
    """Stop the zygote, if one runs (its children run on until they end)."""
    with _lock:
        process = _zygote.pop("process", None)
        if process:
            process.kill()
            process.wait()
            shutil.rmtree(_zygote.pop("folder"), ignore_errors=True)
            _zygote.clear()


def shims() -> str:
    """A folder holding ``python`` and ``feast-federation`` that run in the zygote; put it
    first on PATH, with FEAST_FEDERATION_ZYGOTE=socket_path() in the environment."""
    folder = Path(os.path.dirname(socket_path())) / "bin"
    with _lock:
        if not folder.exists():
            folder.mkdir()
            venv = Path(sys.executable).parent
            commands = (("python", sys.executable, False),
                        ("feast-federation", str(venv / "feast-federation"), True))  # fmt: skip
            for name, real, entry in commands:
                shim = folder / name
                text = SHIM.replace("@PYTHON@", sys.executable).replace("@CLIENT@", CLIENT)
                shim.write_text(text.replace("@REAL@", repr(real)).replace("@ENTRY@", str(entry)))
                shim.chmod(0o755)
    return str(folder)


def run_forked(
    args: list, cwd: Path | None, env: dict, input: str | None = None, timeout: float | None = None
) -> subprocess.CompletedProcess | None:
    """The command run in a child of the zygote, its output captured; None if the zygote
    turned it down."""
    if not available():
        return None
    mode, target, rest = command(args)
    with tempfile.TemporaryFile("w+") as stdin, tempfile.TemporaryFile("w+") as stdout, \
            tempfile.TemporaryFile("w+") as stderr:  # fmt: skip
        stdin.write(input or "")
        stdin.flush()
        stdin.seek(0)
        streams = [stdin.fileno(), stdout.fileno(), stderr.fileno()]
        try:
            where = str(cwd or os.getcwd())
            status = _client["forked"](socket_path(), mode, target, rest, env, where, streams,
                                       timeout=timeout)  # fmt: skip
        except TimeoutError:
            raise subprocess.TimeoutExpired(args, timeout) from None
        if status is None:
            return None
        stdout.seek(0)
        stderr.seek(0)
        return subprocess.CompletedProcess(args, status, stdout.read(), stderr.read())
