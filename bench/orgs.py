"""The benchmark's orgs: N teams really registered (in federation.yaml, their Permissions
published, their objects applied and logged), built once per size and kept.

Each org is built by ``tests/support/bulk.py`` (``build_registered_org``, which a test holds
to what add-team, a platform sync and the teams' applies make) in ``<cache>/<key>/<N>/work``
and copied to ``pristine`` beside it. A run measures in ``work``, put back from ``pristine``
first (``reset``): every path the org holds (the registry's, the sources') stays valid. The
key changes with what the builder makes from (the builder, the templates, the Feast and
feast-federation versions); ``--rebuild`` builds again anyway.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
DEFAULT_CACHE = BENCH_DIR / ".orgs"
# What an org is made from: a change to any of these builds it again.
SOURCES = ("tests/support/bulk.py", "cookiecutter-platform", "cookiecutter-team", "hooks")

# The interpreter the benchmark's commands run in. The tests' quick run names a warm one
# (tests/support/zygote.py): its figures are not measurements, and each fresh `import feast`
# would cost it about 4 s.
PYTHON = os.environ.get("FEAST_FEDERATION_BENCH_PYTHON") or sys.executable

if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))


def cache_key(registry: str) -> str:
    digest = hashlib.sha256(registry.encode())
    for name in ("feast", "feast-federation"):
        digest.update(f"{name}=={metadata.version(name)}".encode())
    for source in SOURCES:
        path = ROOT / source
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(ROOT)).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


@dataclass
class Org:
    """One size's org: measured in ``work``, put back from ``pristine``."""

    teams: int
    home: Path
    registry: str = "sqlite"
    built_seconds: float | None = None  # set when this run built it

    @property
    def work(self) -> Path:
        return self.home / "work"

    @property
    def pristine(self) -> Path:
        return self.home / "pristine"

    @property
    def platform(self):
        from feast_federation.rules.repo import find_repo

        return find_repo(self.work / "platform")

    @property
    def team(self):
        from feast_federation.rules.repo import find_repo

        return find_repo(self.work / "teams" / "bench")

    def reset(self) -> None:
        """The org as built: what an earlier measurement wrote is gone. The files are new
        (mtimes too), so a store this process opened on the old ones is not reused."""
        shutil.rmtree(self.work, ignore_errors=True)
        shutil.copytree(self.pristine, self.work, symlinks=True, copy_function=shutil.copy)


def org(teams: int, cache: Path = DEFAULT_CACHE, *, registry: str = "sqlite",
        rebuild: bool = False) -> Org:  # fmt: skip
    """The org of ``teams`` registered teams, built if the cache has none (or ``rebuild``),
    reset to as built. Built in a process of its own: no store of this process holds the
    registry's database open when ``reset`` replaces it."""
    home = Path(cache).resolve() / cache_key(registry) / f"{registry}-{teams}"
    found = Org(teams, home, registry)
    if rebuild or not (home / "pristine" / ".built").is_file():
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        started = time.perf_counter()
        command = [PYTHON, __file__, str(found.work), str(teams), registry]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        found.built_seconds = time.perf_counter() - started
        shutil.copytree(found.work, found.pristine, symlinks=True)
        (found.pristine / ".built").write_text(f"{found.built_seconds:.1f} s\n")
    found.reset()
    return found


if __name__ == "__main__":  # the build, in a process of its own
    from support.bulk import build_registered_org

    build_registered_org(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
