"""The ownership pre-commit hook: `feast-federation check .` (imports Feast, reads the
registry, rebuilds every ODFV) against `feast-federation check --offline .` (the source and
the platform contract), each a fresh process on a team repo of a synced org.

    python bench/hook.py [--repeats 5]

Prints both medians and the ratio; the offline hook's target is under 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 1.0


def seconds(args: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"error: {' '.join(args)} failed: {(result.stdout + result.stderr)[-500:]}")
    return elapsed


def synced_team(directory: Path) -> Path:
    sys.path.insert(0, str(ROOT / "scaffolder"))
    from feast_federation import sync
    from feast_federation.onboarding import bootstrap_org
    from feast_federation.rules.repo import find_repo

    platform, [team] = bootstrap_org(
        directory, project="acme", owners=["p@acme.io"], teams=(("risk", "user_features"),)
    )
    for repo in (platform, team):
        sync.apply(find_repo(repo))
    return team


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    command = [sys.executable, "-m", "feast_federation.cli", "check"]
    with tempfile.TemporaryDirectory() as scratch:
        team = synced_team(Path(scratch))
        before = statistics.median(seconds([*command, "."], team) for _ in range(repeats))
        after = statistics.median(
            seconds([*command, "--offline", "."], team) for _ in range(repeats)
        )
    verdict = "meets" if after < TARGET_SECONDS else "MISSES"
    print(f"ownership hook, team repo: check . {before:.2f} s, check --offline . {after:.2f} s")
    faster = f"{before / after:.0f}x faster"
    print(f"ratio {after / before:.3f} ({faster}); {verdict} < {TARGET_SECONDS:.0f} s")


if __name__ == "__main__":
    main()
