"""A warm process that forks one fresh child per command: ``import feast`` costs about 3 s
of CPU, a fork costs milliseconds.

The zygote imports Feast and the libraries it pulls in (never ``feast_federation`` or a
generated repo: a child imports those itself, as a new process would, so what they read from
the environment at import is the child's) and then waits on a Unix socket. For each command
it forks a supervisor, which forks the child and reports the child's pid, then its exit
status. The child takes the command's environment, working directory, ``sys.argv`` and
``sys.path[0]`` as ``python`` would give them, runs the script, module or code as
``__main__``, runs its atexit handlers and exits. Its output goes to files the caller reads.

``run()`` in this package sends a command here only where that proves what a fresh
interpreter would: ``python SCRIPT``, ``python -m MODULE`` or ``python -c CODE`` with this
interpreter and no other options, and the caller's PYTHONPATH (the fast tier's Feast stub
rides on PYTHONPATH, so its processes are never forked from a process that has Feast).
"""

from __future__ import annotations

import atexit
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

SERVER = r"""
import json, os, runpy, signal, socket, sys, traceback, warnings
warnings.simplefilter("ignore")
import feast, feast.feature_store, feast.infra.registry.sql, feast.infra.online_stores.sqlite
import pandas, pyarrow, sqlalchemy, typer, rich, yaml, jinja2, cookiecutter.main  # noqa
assert feast and not any(name.startswith("feast_federation") for name in sys.modules)

def child(request):
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    for fd, (path, flags) in enumerate(
        [(request["stdin"], os.O_RDONLY)] + [(p, os.O_WRONLY | os.O_TRUNC) for p in request["out"]]
    ):
        opened = os.open(path, flags)
        os.dup2(opened, fd)
        os.close(opened)
    mode, target, rest = request["mode"], request["target"], request["rest"]
    sys.path[0] = {"script": os.path.dirname(os.path.abspath(target)), "module": os.getcwd(),
                   "code": ""}[mode]
    sys.argv = [{"script": target, "module": target, "code": "-c"}[mode], *rest]
    code = 0
    try:
        if mode == "script":
            runpy.run_path(target, run_name="__main__")
        elif mode == "module":
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            exec(compile(target, "<string>", "exec"), {"__name__": "__main__"})
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

def supervise(connection):
    request = json.loads(connection.makefile().readline())
    pid = os.fork()
    if pid == 0:
        connection.close()
        child(request)
    connection.sendall(f"{pid}\n".encode())
    _, status = os.waitpid(pid, 0)
    connection.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
    os._exit(0)

signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # supervisors reap themselves
listener = socket.socket(socket.AF_UNIX)
listener.bind(sys.argv[1])
listener.listen(64)
print("ready", flush=True)
while True:
    connection, _ = listener.accept()
    if os.fork() == 0:
        listener.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        supervise(connection)
    connection.close()
"""

_lock = threading.Lock()
_zygote: dict[str, object] = {}


def command(args: list) -> tuple[str, str, list[str]] | None:
    """(mode, target, the rest of argv) for a command a zygote can run, else None."""
    args = [str(arg) for arg in args]
    if len(args) < 2 or args[0] != sys.executable:
        return None
    if args[1] in ("-m", "-c") and len(args) > 2:
        return ("module" if args[1] == "-m" else "code"), args[2], args[3:]
    if not args[1].startswith("-"):
        return "script", args[1], args[2:]
    return None


def _socket_path() -> str:
    with _lock:
        if "path" not in _zygote:
            folder = tempfile.mkdtemp(prefix="zyg-")  # short: Unix socket paths are 107 bytes
            path = os.path.join(folder, "socket")
            env = {**os.environ, "PYTHONWARNINGS": "ignore"}
            process = subprocess.Popen([sys.executable, "-c", SERVER, path], env=env,
                                       stdout=subprocess.PIPE, text=True)  # fmt: skip
            assert process.stdout.readline().strip() == "ready", "the zygote did not start"
            atexit.register(process.kill)
            _zygote.update(path=path, process=process)
        return _zygote["path"]


def run_forked(
    args: list, cwd: Path | None, env: dict, input: str | None = None, timeout: float | None = None
) -> subprocess.CompletedProcess:
    mode, target, rest = command(args)
    with tempfile.TemporaryDirectory(prefix="zyg-job-") as scratch:
        stdin, stdout, stderr = (os.path.join(scratch, name) for name in ("in", "out", "err"))
        for path, text in ((stdin, input or ""), (stdout, ""), (stderr, "")):
            Path(path).write_text(text)
        request = {"mode": mode, "target": target, "rest": rest, "env": env,
                   "cwd": str(cwd or os.getcwd()), "stdin": stdin,
                   "out": [stdout, stderr]}  # fmt: skip
        with socket.socket(socket.AF_UNIX) as connection:
            connection.connect(_socket_path())
            connection.sendall((json.dumps(request) + "\n").encode())
            replies = connection.makefile()
            pid = int(replies.readline())
            connection.settimeout(timeout)
            try:
                returncode = int(replies.readline())
            except TimeoutError:
                os.kill(pid, 9)
                raise subprocess.TimeoutExpired(args, timeout) from None
        return subprocess.CompletedProcess(
            args, returncode, Path(stdout).read_text(errors="replace"),
            Path(stderr).read_text(errors="replace"),
        )  # fmt: skip
