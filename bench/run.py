"""Benchmarks: what the safety costs, measured against stock Feast in the same run.

    python bench/run.py            # the full run (1,000-team registries; about 10 minutes)
    python bench/run.py --quick    # small sizes, few repeats: what the tests run

Writes results.json, results.md (the table it also prints) and scaling.png into --output.
Every figure is a ratio of medians over repeated runs, warm-up excluded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
TARGETS = {
    "team_apply_overhead": 1.10,
    "platform_sync_vs_feast_apply": 1.0,
    "onboarding_vs_cookiecutter": 1.5,
    "team_apply_growth": 2.0,
    "python_odfv_vs_plain": 1.5,
}


# --- measuring ---------------------------------------------------------------------------


def median_ms(action: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def paired_medians(ours, stock, repeats: int, warmup: int = 1) -> tuple[float, float]:
    """Alternate the two so drift on a shared machine hits both alike."""
    for _ in range(warmup):
        ours()
        stock()
    ours_ms, stock_ms = [], []
    for _ in range(repeats):
        for action, samples in ((ours, ours_ms), (stock, stock_ms)):
            started = time.perf_counter()
            action()
            samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(ours_ms), statistics.median(stock_ms)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# --- an org with N teams already in the registry -----------------------------------------


def build_org(directory: Path, filler_teams: int, registry: str = "sqlite"):
    """A platform, one real team repo ("bench"), and N other teams' objects in the registry."""
    from feast_federation import sync
    from feast_federation.onboarding import bootstrap_org
    from feast_federation.ops.materialize import materialize_repo
    from feast_federation.registry import open_store
    from feast_federation.registry.feast067 import held_registry
    from feast_federation.rules.choices import Backends
    from feast_federation.rules.repo import find_repo

    platform_dir, [team_dir] = bootstrap_org(
        directory, project="acme", owners=["p@x.io"], teams=[("bench", "customer_features")],
        backends=Backends(registry=registry),
    )  # fmt: skip
    sync.apply(find_repo(platform_dir))
    materialize_repo(platform_dir, quiet=True)
    store = open_store(platform_dir)
    with held_registry(store):  # setup only: 3,000 writes, no re-reads, none lost
        store.apply(filler_objects(store, filler_teams), partial=True)
    sync.apply(find_repo(team_dir))
    return find_repo(platform_dir), find_repo(team_dir)


def filler_objects(store, teams: int) -> list:
    """What each other team holds: a RequestSource, a python ODFV and a FeatureService."""
    from feast import FeatureService, Field, RequestSource
    from feast.on_demand_feature_view import on_demand_feature_view
    from feast.types import Float64

    view = store.get_feature_view("user_features")
    objects = []
    for index in range(teams):
        team = f"filler{index:04d}"
        request = RequestSource(
            name=f"{team}_request", schema=[Field(name="amount", dtype=Float64)]
        )

        def ratio(inputs: dict) -> dict:
            pairs = zip(inputs["amount"], inputs["account_balance"], strict=True)
            return {"ratio": [amount / (balance or 1.0) for amount, balance in pairs]}

        ratio.__name__ = f"{team}_ratio"
        odfv = on_demand_feature_view(
            sources=[view[["account_balance"]], request],
            schema=[Field(name="ratio", dtype=Float64)],
            mode="python",
        )(ratio)
        objects += [request, odfv, FeatureService(name=f"{team}_model", features=[view, odfv])]
    return objects


class TeamEdits:
    """Changes the bench team's service on every call, so every apply has something to write."""

    def __init__(self, repo) -> None:
        self.path = repo.path / "feature_services.py"
        self.text = self.path.read_text()
        self.count = 0

    def __call__(self) -> None:
        self.count += 1
        self.path.write_text(
            self.text.replace("Features of the campaign", f"Revision {self.count} of the campaign")
        )


# --- the figures ---------------------------------------------------------------------------


def compare_team_applies(team, repeats: int) -> tuple[float, float]:
    """Our validated apply vs raw store.apply(partial=True) of the same repo's objects.

    Both collect the repo's objects, and both find one real change to write each time.
    """
    from feast_federation import sync
    from feast_federation.registry import open_store
    from feast_federation.sync.collect import collect

    store = open_store(team.path)
    edit = TeamEdits(team)

    def ours():
        edit()
        sync.apply(team)

    def stock():
        edit()
        store.apply(collect(team), partial=True)

    return paired_medians(ours, stock, repeats)


def team_apply(sizes: list[int], repeats: int, scratch: Path) -> list[dict]:
    from feast_federation import sync
    from feast_federation.ops import audit

    rows = []
    for size in sizes:
        platform_repo, team = build_org(scratch / f"team-apply-{size}", size)
        ours_ms, stock_ms = compare_team_applies(team, repeats)
        plan_ms = median_ms(partial(sync.plan, team), repeats)
        audit_ms = median_ms(partial(audit.audit, platform_repo), max(3, repeats // 3))
        rows.append(
            {"teams": size, "ours_ms": ours_ms, "stock_ms": stock_ms, "ratio": ours_ms / stock_ms,
             "plan_ms": plan_ms, "audit_ms": audit_ms}
        )  # fmt: skip
    return rows


def registry_kinds(size: int, repeats: int, scratch: Path) -> list[dict]:
    rows = []
    for kind in ("sqlite", "file"):
        _, team = build_org(scratch / f"kinds-{kind}", size, kind)
        ours_ms, stock_ms = compare_team_applies(team, repeats)
        rows.append({"registry": kind, "teams": size, "ours_ms": ours_ms, "stock_ms": stock_ms,
                     "ratio": ours_ms / stock_ms})  # fmt: skip
    return rows


def process_seconds(args: list[str], cwd: Path, env: dict | None = None) -> float:
    started = time.perf_counter()
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{args} failed: {result.stderr[-2000:]}")
    return elapsed


def platform_sync(repeats: int, scratch: Path) -> dict:
    """`python apply.py` vs `feast apply`, whole processes, each on its own copy of the org."""
    import shutil

    platform_repo, _ = build_org(scratch / "sync-ours", 10)
    stock_dir = scratch / "sync-stock"
    shutil.copytree(platform_repo.path.parent, stock_dir, symlinks=True)
    stock_platform = stock_dir / "platform"
    config = stock_platform / "feature_store.yaml"
    config.write_text(config.read_text().replace(str(platform_repo.path), str(stock_platform)))
    views = {repo: repo / "feature_views.py" for repo in (platform_repo.path, stock_platform)}
    originals = {repo: path.read_text() for repo, path in views.items()}
    count = {"n": 0}

    def run(repo: Path, args: list[str]) -> float:
        count["n"] += 1  # a real change each time: a view's description
        revised = originals[repo].replace("Hourly driver", f"Hourly ({count['n']}) driver")
        views[repo].write_text(revised)
        return process_seconds(args, repo)

    ours, stock = [], []
    for index in range(repeats + 1):
        ours_s = run(platform_repo.path, [sys.executable, "apply.py"])
        stock_s = run(stock_platform, [str(Path(sys.executable).with_name("feast")), "apply"])
        if index:  # the first pair is warm-up
            ours.append(ours_s)
            stock.append(stock_s)
    return {"ours_s": statistics.median(ours), "stock_s": statistics.median(stock),
            "ratio": statistics.median(ours) / statistics.median(stock)}  # fmt: skip


def onboarding(repeats: int, scratch: Path) -> dict:
    """`feast-federation add-team` vs a bare `cookiecutter --no-input` bake, whole processes."""
    from feast_federation.onboarding import bake_platform

    platform_dir = bake_platform(scratch / "onboard", project="acme", owners=["p@x.io"])
    cli = [sys.executable, "-m", "feast_federation.cli"]
    bare = [sys.executable, "-m", "cookiecutter", str(ROOT / "cookiecutter-team"), "--no-input"]
    ours, stock = [], []
    for index in range(repeats + 1):
        out = scratch / "onboard" / f"round{index}"
        ours_s = process_seconds(
            [*cli, "add-team", f"ours{index}", "--platform", str(platform_dir),
             "--output-dir", str(out)], ROOT)  # fmt: skip
        stock_s = process_seconds(
            [*bare, "--output-dir", str(out), f"team_name=bare{index}",
             f"platform_dir={platform_dir}"], ROOT)  # fmt: skip
        if index:
            ours.append(ours_s)
            stock.append(stock_s)
    return {"ours_s": statistics.median(ours), "stock_s": statistics.median(stock),
            "ratio": statistics.median(ours) / statistics.median(stock)}  # fmt: skip


def serving(iterations: int, scratch: Path) -> dict:
    """get_online_features through the team's service vs plain features vs a pandas ODFV."""
    from feast import FeatureService, Field
    from feast.on_demand_feature_view import on_demand_feature_view
    from feast.types import Float64

    from feast_federation.registry import open_store

    _, team = build_org(scratch / "serving", 10)
    store = open_store(team.path)
    view = store.get_feature_view("customer_features")
    service = store.get_feature_service("bench_campaign_model")
    request = store.get_data_source("bench_cart_request")

    @on_demand_feature_view(
        sources=[view, request],
        schema=[Field(name="purchase_propensity_score", dtype=Float64)],
        mode="pandas",
    )
    def bench_pandas_propensity(inputs):
        import numpy as np
        import pandas as pd

        loyalty = np.log1p(inputs["total_purchases"].fillna(0)) / 3
        cart = inputs["current_cart_value"].fillna(0.0)
        ratio = cart / (inputs["avg_order_value"].fillna(0.0) + cart).replace(0, 1.0)
        score = 1 / (1 + np.exp(-(loyalty + ratio - 1) * 3))
        return pd.DataFrame({"purchase_propensity_score": score.round(4)})

    projection = view[["total_purchases", "avg_order_value"]]
    pandas_service = FeatureService(
        name="bench_pandas_model", features=[projection, bench_pandas_propensity]
    )
    store.apply([bench_pandas_propensity, pandas_service], partial=True)
    rows = [{"customer_id": 3001, "current_cart_value": 42.0}]
    plain_rows = [{"customer_id": 3001}]
    plain_features = ["customer_features:total_purchases", "customer_features:avg_order_value"]
    cases = {
        "plain": lambda: store.get_online_features(features=plain_features, entity_rows=plain_rows),
        "python_odfv": lambda: store.get_online_features(features=service, entity_rows=rows),
        "pandas_odfv": lambda: store.get_online_features(
            features=store.get_feature_service("bench_pandas_model"), entity_rows=rows
        ),
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for call in cases.values():
        for _ in range(max(10, iterations // 10)):
            call()
    for _ in range(iterations):
        for name, call in cases.items():
            started = time.perf_counter()
            call()
            samples[name].append((time.perf_counter() - started) * 1000)
    result = {
        name: {"p50_ms": percentile(values, 0.5), "p99_ms": percentile(values, 0.99)}
        for name, values in samples.items()
    }
    result["python_vs_plain_p50"] = result["python_odfv"]["p50_ms"] / result["plain"]["p50_ms"]
    result["pandas_vs_plain_p50"] = result["pandas_odfv"]["p50_ms"] / result["plain"]["p50_ms"]
    return result


# --- reporting -------------------------------------------------------------------------------


def machine() -> dict:
    import feast

    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "feast": feast.__version__,
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
    }


def verdict(value: float, target: float) -> str:
    return f"{value:.2f}x {'meets' if value <= target else 'MISSES'} <= {target}x"


def markdown(results: dict) -> str:
    teams = results["team_apply"]
    first, last = teams[0], teams[-1]
    growth = last["ours_ms"] / first["ours_ms"]
    serving_ = results["serving"]
    lines = [
        f"Machine: {results['machine']['cpus']} CPUs, Python {results['machine']['python']}, "
        f"Feast {results['machine']['feast']}, {results['machine']['date']}"
        + (" (quick run)" if results["quick"] else ""),
        "",
        "| figure | ours | stock | ratio vs target |",
        "| --- | --- | --- | --- |",
    ]
    for row in teams:
        lines.append(
            f"| team apply, {row['teams']} teams in registry | {row['ours_ms']:.1f} ms | "
            f"{row['stock_ms']:.1f} ms | {verdict(row['ratio'], TARGETS['team_apply_overhead'])} |"
        )
    lines += [
        f"| team apply growth, {last['teams']} / {first['teams']} teams | "
        f"{last['ours_ms']:.1f} / {first['ours_ms']:.1f} ms | "
        f"{last['stock_ms']:.1f} / {first['stock_ms']:.1f} ms | "
        f"{verdict(growth, TARGETS['team_apply_growth'])} |",
        f"| platform sync (process) vs feast apply | {results['platform_sync']['ours_s']:.2f} s | "
        f"{results['platform_sync']['stock_s']:.2f} s | "
        f"{verdict(results['platform_sync']['ratio'], TARGETS['platform_sync_vs_feast_apply'])} |",
        f"| add-team vs bare cookiecutter (process) | {results['onboarding']['ours_s']:.2f} s | "
        f"{results['onboarding']['stock_s']:.2f} s | "
        f"{verdict(results['onboarding']['ratio'], TARGETS['onboarding_vs_cookiecutter'])} |",
        f"| online p50, python ODFV service vs plain | {serving_['python_odfv']['p50_ms']:.2f} ms "
        f"(p99 {serving_['python_odfv']['p99_ms']:.2f}) | {serving_['plain']['p50_ms']:.2f} ms "
        f"(p99 {serving_['plain']['p99_ms']:.2f}) | "
        f"{verdict(serving_['python_vs_plain_p50'], TARGETS['python_odfv_vs_plain'])} |",
        f"| online p50, pandas ODFV service vs plain | {serving_['pandas_odfv']['p50_ms']:.2f} ms "
        f"(p99 {serving_['pandas_odfv']['p99_ms']:.2f}) | {serving_['plain']['p50_ms']:.2f} ms | "
        f"{serving_['pandas_vs_plain_p50']:.2f}x (no target) |",
    ]
    for row in results["registry_kinds"]:
        lines.append(
            f"| team apply on the {row['registry']} registry, {row['teams']} teams | "
            f"{row['ours_ms']:.1f} ms | {row['stock_ms']:.1f} ms | {row['ratio']:.2f}x |"
        )
    lines += ["", "Plan and audit time (ours only):", "", "| teams | plan | audit |",
              "| --- | --- | --- |"]  # fmt: skip
    lines += [f"| {r['teams']} | {r['plan_ms']:.1f} ms | {r['audit_ms']:.1f} ms |" for r in teams]
    return "\n".join(lines) + "\n"


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["team_apply"]
    sizes = [row["teams"] for row in rows]
    figure, axis = plt.subplots(figsize=(7, 4))
    series = (
        ("ours_ms", "feast-federation team apply"),
        ("stock_ms", "raw store.apply"),
        ("plan_ms", "feast-federation plan"),
        ("audit_ms", "feast-federation audit"),
    )
    for key, label in series:
        axis.plot(sizes, [row[key] for row in rows], marker="o", label=label)
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("teams already in the registry")
    axis.set_ylabel("median time (ms)")
    axis.set_title("Team apply, plan and audit as the registry grows")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--output", type=Path, default=BENCH_DIR)
    args = parser.parse_args()
    sizes, repeats, runs, iterations = (
        ([10, 50], 5, 2, 100) if args.quick else ([10, 100, 1000], 15, 5, 1000)
    )
    args.output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        results = {
            "quick": args.quick,
            "machine": machine(),
            "targets": TARGETS,
            "team_apply": team_apply(sizes, repeats, scratch),
            "registry_kinds": registry_kinds(sizes[-1] if args.quick else 100, repeats, scratch),
            "platform_sync": platform_sync(runs, scratch),
            "onboarding": onboarding(runs + 1, scratch),
            "serving": serving(iterations, scratch),
        }
    # bench/serve.py keeps its figures in the same file, under "serve": leave them there.
    path = args.output / "results.json"
    kept = json.loads(path.read_text()) if path.is_file() else {}
    path.write_text(json.dumps({**kept, **results}, indent=2))
    table = markdown(results)
    (args.output / "results.md").write_text(table)
    plot(results, args.output / "scaling.png")
    print(table)


if __name__ == "__main__":
    main()
