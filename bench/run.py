"""Benchmarks: what reading and writing a whole org costs as it grows, measured against the
stock alternative in the same run, on orgs whose teams are really registered.

    python bench/run.py            # 10, 100, 1,000 and 10,000 teams (orgs cached: bench/orgs.py)
    python bench/run.py --quick    # 10 and 50 teams, few repeats: what the tests run

Writes results.json, results.md (the table it also prints) and scaling.png into --output.
In-process figures are medians over repeated runs, warm-up excluded; command-line figures
are whole processes (start, ``import feast`` and all). Every in-process figure at the largest
size is also profiled once: a figure that misses its target shows where its time goes.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path[:0] = [str(BENCH_DIR), str(ROOT / "tests")]

import orgs  # noqa: E402

# The targets. CLI figures: wall time at the largest size / at the smallest. Growth:
# in-process time at the largest size / at the size ten times smaller.
TARGETS = {
    "cli_growth": 2.0,
    "in_process_growth": 12.0,
    "team_apply_vs_raw": 1.0,
    "sync_one_team_vs_stock": 1.0,
    "python_odfv_vs_plain": 1.3,
}
CLI_FIGURES = {  # name: the command's arguments after the repo ({platform} or {team})
    "catalog": ["catalog", "{platform}", "--format", "json"],
    "platform audit": ["audit", "{platform}"],
    "team audit": ["audit", "{team}"],
    "platform plan": ["plan", "{platform}"],
    "team plan": ["plan", "{team}"],
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


def profile(action: Callable[[], object], top: int = 8) -> list[str]:
    """Where one run of ``action`` spends its time: the functions of this project and of
    Feast with the most cumulative time, leaving out the calls that merely wrap the whole
    run (90% of it or more) and anonymous functions."""
    profiler = cProfile.Profile()
    profiler.enable()
    action()
    profiler.disable()
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    whole = max((entry[3] for entry in stats.stats.values()), default=0.0)
    rows = []
    for (path, _, function), (_, _, _, cumulative, _) in stats.stats.items():
        if ("feast_federation" in path or "/feast/" in path) and "cli/" not in path:
            if cumulative < 0.9 * whole and not function.startswith("<"):
                rows.append((cumulative, f"{Path(path).parent.name}/{Path(path).name}:{function}"))
    rows.sort(reverse=True)
    return [f"{label} {seconds * 1000:.0f} ms" for seconds, label in rows[:top]]


def process_run(args: list[str], cwd: Path, ok=(0,)) -> tuple[float, float]:
    """Seconds and peak memory (MB) of a fresh process."""
    # Output goes to files, not pipes: waiting for a child that fills a pipe nobody reads
    # (a catalog's JSON is larger than the pipe's buffer) would never end.
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        child = subprocess.Popen(args, cwd=cwd, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode not in ok:
            stderr.seek(0)
            raise RuntimeError(
                f"{args} exited {child.returncode}: {stderr.read().decode()[-2000:]}"
            )
    return elapsed, usage.ru_maxrss / 1024


CLI = [orgs.PYTHON, "-m", "feast_federation.cli"]


# --- the figures of one size -------------------------------------------------------------


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


def cli_figures(org: orgs.Org, repeats: int) -> dict:
    """Each read-only command, whole processes: wall time and peak memory."""
    paths = {"platform": org.platform.path, "team": org.team.path}
    found = {}
    for name, template in CLI_FIGURES.items():
        args = [*CLI, *(part.format(**paths) for part in template)]
        runs = [process_run(args, ROOT, ok=(0, 2)) for _ in range(repeats)]
        found[name] = {"s": statistics.median(r[0] for r in runs),
                       "peak_mb": max(r[1] for r in runs)}  # fmt: skip
    return found


def in_process_figures(org: orgs.Org, repeats: int, profiled: bool) -> tuple[dict, dict]:
    """The read-only figures in this process (median ms), and each one's profile."""
    from feast_federation import sync
    from feast_federation.ops import audit, catalog
    from feast_federation.rules import policy as policy_file

    platform_repo, team = org.platform, org.team

    def load_policy():
        policy_file._last = None  # the file read and parsed, as a command's first load is
        return policy_file.load_policy(platform_repo.path)

    actions = {
        "catalog": lambda: catalog.build(platform_repo),
        "platform audit": lambda: audit.audit(platform_repo),
        "team audit": lambda: audit.audit(team),
        "platform plan": lambda: sync.plan(platform_repo),
        "team plan": lambda: sync.plan(team),
        "policy load": load_policy,
    }
    clean = [sync.plan(platform_repo).has_changes, sync.plan(team).has_changes]
    if any(clean) or audit.audit(platform_repo):
        raise RuntimeError(
            f"the org at {org.work} is not as the builder makes it (its plans or audit find "
            "something): run with --rebuild"
        )
    found = {name: median_ms(action, repeats) for name, action in actions.items()}
    profiles = {name: profile(action) for name, action in actions.items()} if profiled else {}
    return found, profiles


def team_applies(org: orgs.Org, repeats: int) -> dict:
    """Our validated team apply against a raw ``store.apply(partial=True)`` of the same
    repo's objects, through a stock FeatureStore; both collect the repo and find one real
    change to write. Unpaired: each runs on its own, one after another, as applies arrive
    in a CI queue; paired: alternated."""
    from feast import FeatureStore

    from feast_federation import sync
    from feast_federation.sync.collect import collect

    team = org.team
    stock_store = FeatureStore(repo_path=str(team.path))
    edit = TeamEdits(team)

    def ours():
        edit()
        sync.apply(team)

    def stock():
        edit()
        stock_store.apply(collect(team), partial=True)

    unpaired = {"ours_ms": median_ms(ours, repeats), "stock_ms": median_ms(stock, repeats)}
    ours_ms, stock_ms = paired_medians(ours, stock, repeats)
    return {
        "unpaired": {**unpaired, "ratio": unpaired["ours_ms"] / unpaired["stock_ms"]},
        "paired": {"ours_ms": ours_ms, "stock_ms": stock_ms, "ratio": ours_ms / stock_ms},
        "profile": profile(ours),  # one apply: cheap at every size
    }


def sync_one_team(org: orgs.Org, repeats: int, profiled: bool) -> dict:
    """A platform sync that publishes one newly registered team (its four Permissions) and
    re-applies the platform's objects, against a stock ``store.apply`` of the same objects
    (the platform repo's, and the new team's Permissions) through a stock FeatureStore.
    Each round registers a team for each; registering is not timed."""
    from feast import FeatureStore

    from feast_federation import sync
    from feast_federation.registry.permissions import policy_permissions
    from feast_federation.rules.policy import register_team
    from feast_federation.sync.collect import collect

    platform_repo = org.platform
    stock_store = FeatureStore(repo_path=str(platform_repo.path))
    rounds = {"n": 0}

    def next_team() -> str:
        rounds["n"] += 1
        team = f"joiner{rounds['n']:03d}"
        register_team(platform_repo.path, team, [f"{team}@example.com"])
        return team

    def ours():
        sync.apply(platform_repo)

    def stock(team: str):
        policy = register_team(platform_repo.path, team, [f"{team}@example.com"])
        names = {p.name for p in policy_permissions(policy) if f"-team-{team}-" in p.name}
        stock_store.apply(collect(platform_repo) + policy_permissions(policy, names), partial=True)

    ours_ms, stock_ms = [], []
    for index in range(repeats + 1):
        next_team()
        started = time.perf_counter()
        ours()
        ours_s = time.perf_counter() - started
        rounds["n"] += 1
        team = f"joiner{rounds['n']:03d}"
        started = time.perf_counter()
        stock(team)
        stock_s = time.perf_counter() - started
        if index:  # the first round is warm-up
            ours_ms.append(ours_s * 1000)
            stock_ms.append(stock_s * 1000)
    result = {"ours_ms": statistics.median(ours_ms), "stock_ms": statistics.median(stock_ms)}
    result["ratio"] = result["ours_ms"] / result["stock_ms"]
    if profiled:
        next_team()
        result["profile"] = profile(ours)
    return result


def onboarding(org: orgs.Org, repeats: int, scratch: Path) -> dict:
    """`feast-federation add-team` vs a bare `cookiecutter --no-input` bake of the team
    template (whose hook registers the team too), whole processes, into this org."""
    platform_dir = org.platform.path
    bare = [orgs.PYTHON, "-m", "cookiecutter", str(ROOT / "cookiecutter-team"), "--no-input"]
    ours, stock, peaks = [], [], []
    for index in range(repeats + 1):
        out = scratch / f"onboard-{org.teams}" / f"round{index}"
        ours_s, peak = process_run(
            [*CLI, "add-team", f"ours{index}", "--platform", str(platform_dir),
             "--owner", "o@example.com", "--output-dir", str(out)], ROOT)  # fmt: skip
        stock_s, _ = process_run(
            [*bare, "--output-dir", str(out), f"team_name=bare{index}",
             f"platform_dir={platform_dir}"], ROOT)  # fmt: skip
        if index:
            ours.append(ours_s)
            stock.append(stock_s)
            peaks.append(peak)
    return {"ours_s": statistics.median(ours), "stock_s": statistics.median(stock),
            "ratio": statistics.median(ours) / statistics.median(stock),
            "peak_mb": max(peaks)}  # fmt: skip


def measure_size(teams: int, repeats: dict, cache: Path, rebuild: bool, profiled: bool,
                 scratch: Path) -> dict:  # fmt: skip
    org = orgs.org(teams, cache, rebuild=rebuild)
    row: dict = {"teams": teams, "built_s": org.built_seconds}
    row["cli"] = cli_figures(org, repeats["cli"])
    row["in_process_ms"], row["profiles"] = in_process_figures(org, repeats["read"], profiled)
    row["team_apply"] = team_applies(org, repeats["apply"])
    row["sync_one_team"] = sync_one_team(org, repeats["sync"], profiled)
    row["add_team"] = onboarding(org, repeats["cli"], scratch)
    print(f"{teams} teams measured", file=sys.stderr, flush=True)
    return row


# --- beside the sizes: registry kinds and serving ------------------------------------------


def registry_kinds(teams: int, repeats: int, cache: Path, rebuild: bool) -> list[dict]:
    rows = []
    for kind in ("sqlite", "file"):
        org = orgs.org(teams, cache, registry=kind, rebuild=rebuild)
        applies = team_applies(org, repeats)["unpaired"]
        rows.append({"registry": kind, "teams": teams, **applies})
    return rows


def serving(iterations: int, cache: Path, rebuild: bool) -> dict:
    """get_online_features in this process: the bench team's service (plain view features
    plus its starter python ODFV) against the same view's plain features, and the ODFV
    options Feast 0.67 offers (see ``odfv_options``)."""
    from feast_federation.registry import open_store

    org = orgs.org(10, cache, rebuild=rebuild)
    store = open_store(org.team.path)
    cases = odfv_options(store)
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
    plain = result["plain"]["p50_ms"]
    for name in cases:
        result[name]["vs_plain_p50"] = result[name]["p50_ms"] / plain
    service = cases["python_odfv"]
    result["python_odfv"]["profile"] = profile(lambda: [service() for _ in range(200)])
    return result


def odfv_options(store) -> dict[str, Callable[[], object]]:
    """One call each: plain view features; the bench team's service as the starter makes it;
    and the same service with its ODFV in each of Feast 0.67's other shapes: pandas mode,
    python with ``singleton=True`` (one row at a time), and, for an ODFV that needs no
    request data, ``write_to_online_store=True`` (computed when written, read as stored)."""
    import numpy as np
    import pandas as pd
    from feast import FeatureService, Field
    from feast.on_demand_feature_view import on_demand_feature_view
    from feast.types import Float64

    view = store.get_feature_view("customer_features")
    request = store.get_data_source("bench_cart_request")
    projection = view[["total_purchases", "avg_order_value"]]

    def propensity_one(inputs: dict) -> dict:
        import math

        loyalty = math.log1p(inputs["total_purchases"] or 0) / 3
        cart = inputs["current_cart_value"] or 0.0
        ratio = cart / ((inputs["avg_order_value"] or 0.0) + cart or 1.0)
        score = 1 / (1 + math.exp(-(loyalty + ratio - 1) * 3))
        return {"purchase_propensity_score": round(score, 4)}

    def propensity_frame(inputs):
        loyalty = np.log1p(inputs["total_purchases"].fillna(0)) / 3
        cart = inputs["current_cart_value"].fillna(0.0)
        ratio = cart / (inputs["avg_order_value"].fillna(0.0) + cart).replace(0, 1.0)
        score = 1 / (1 + np.exp(-(loyalty + ratio - 1) * 3))
        return pd.DataFrame({"purchase_propensity_score": score.round(4)})

    def loyalty(inputs: dict) -> dict:
        import math

        return {"loyalty": [math.log1p(p or 0) / 3 for p in inputs["total_purchases"]]}

    def stored_loyalty(inputs: dict) -> dict:
        import math

        return {"loyalty": [math.log1p(p or 0) / 3 for p in inputs["total_purchases"]]}

    schema = [Field(name="purchase_propensity_score", dtype=Float64)]
    shapes = {
        "pandas_odfv": on_demand_feature_view(
            name="bench_pandas_propensity", sources=[view, request], schema=schema,
            mode="pandas")(propensity_frame),
        "singleton_odfv": on_demand_feature_view(
            name="bench_singleton_propensity", sources=[view, request], schema=schema,
            mode="python", singleton=True)(propensity_one),
        "python_odfv_no_request": on_demand_feature_view(
            name="bench_loyalty", sources=[view], schema=[Field(name="loyalty", dtype=Float64)],
            mode="python")(loyalty),
        "stored_odfv_no_request": on_demand_feature_view(
            name="bench_stored_loyalty", sources=[view], entities=[store.get_entity("customer")],
            schema=[Field(name="loyalty", dtype=Float64)], mode="python",
            write_to_online_store=True)(stored_loyalty),
    }  # fmt: skip
    services = {
        name: FeatureService(name=f"bench_{name}_model", features=[projection, odfv])
        for name, odfv in shapes.items()
    }
    store.apply([*shapes.values(), *services.values()], partial=True)
    with contextlib.redirect_stdout(io.StringIO()):  # Feast prints its progress
        store.materialize_incremental(end_date=pd.Timestamp.now(tz="UTC").to_pydatetime())
    starter = store.get_feature_service("bench_campaign_model")
    rows = [{"customer_id": 3001, "current_cart_value": 42.0}]
    plain_rows = [{"customer_id": 3001}]
    plain = ["customer_features:total_purchases", "customer_features:avg_order_value"]
    cases = {
        "plain": lambda: store.get_online_features(features=plain, entity_rows=plain_rows),
        "python_odfv": lambda: store.get_online_features(features=starter, entity_rows=rows),
    }
    for name, service in services.items():
        entity_rows = plain_rows if name.endswith("no_request") else rows
        cases[name] = lambda s=service, r=entity_rows: store.get_online_features(
            features=s, entity_rows=r
        )
    return cases


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


def growths(results: dict) -> dict:
    """The ratios the targets are about, from the rows of every size."""
    rows = results["sizes"]
    first, last = rows[0], rows[-1]
    tenth = next((r for r in rows if r["teams"] * 10 == last["teams"]), rows[-2])
    found = {"cli": {}, "in_process": {}, "sizes": [first["teams"], tenth["teams"], last["teams"]]}
    for name in CLI_FIGURES:
        found["cli"][name] = last["cli"][name]["s"] / first["cli"][name]["s"]
    found["cli"]["add-team"] = last["add_team"]["ours_s"] / first["add_team"]["ours_s"]
    for name in last["in_process_ms"]:
        found["in_process"][name] = last["in_process_ms"][name] / tenth["in_process_ms"][name]
    for key, label in (("team_apply", "team apply"), ("sync_one_team", "platform sync, one team")):
        ours = last[key]["unpaired"]["ours_ms"] if key == "team_apply" else last[key]["ours_ms"]
        before = tenth[key]["unpaired"]["ours_ms"] if key == "team_apply" else tenth[key]["ours_ms"]
        found["in_process"][label] = ours / before
    return found


def _size(teams: int) -> str:
    return f"{teams:,}"


def _ms(value: float) -> str:
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.1f} ms"


def _over(figure: dict) -> str:
    return f"{_ms(figure['ours_ms'])} / {_ms(figure['stock_ms'])} = {figure['ratio']:.2f}x"


def markdown(results: dict) -> str:
    rows = results["sizes"]
    sizes = [_size(r["teams"]) for r in rows]
    grown = results["growth"]
    small, tenth, large = (_size(n) for n in grown["sizes"])
    cli_target, growth_target = TARGETS["cli_growth"], TARGETS["in_process_growth"]
    m = results["machine"]
    lines = [
        f"Machine: {m['cpus']} CPUs, Python {m['python']}, Feast {m['feast']}, {m['date']}"
        + (" (quick run)" if results["quick"] else ""),
        "",
        "Every org has its teams registered, their Permissions published and their objects "
        "applied and logged (bench/orgs.py).",
        "",
        f"| figure | {' | '.join(sizes)} | ratio vs target |",
        f"| --- |{' --- |' * len(sizes)} --- |",
    ]
    misses: list[tuple[str, list[str]]] = []
    last_profiles = rows[-1]["profiles"]
    for name in CLI_FIGURES:
        ratio = grown["cli"][name]
        cells = [f"{r['cli'][name]['s']:.2f} s" for r in rows]
        lines.append(f"| `{name}`, command | {' | '.join(cells)} | {large} / {small}: "
                     f"{verdict(ratio, cli_target)} |")  # fmt: skip
        if ratio > cli_target:
            misses.append((f"`{name}` command at {large} teams", last_profiles.get(name, [])))
    ratio = grown["cli"]["add-team"]
    cells = [f"{r['add_team']['ours_s']:.2f} s (cookiecutter {r['add_team']['stock_s']:.2f} s)"
             for r in rows]  # fmt: skip
    lines.append(f"| `add-team`, command | {' | '.join(cells)} | {large} / {small}: "
                 f"{verdict(ratio, cli_target)} |")  # fmt: skip
    if ratio > cli_target:
        misses.append((f"`add-team` at {large} teams", []))
    for name in rows[-1]["in_process_ms"]:
        ratio = grown["in_process"][name]
        cells = [_ms(r["in_process_ms"][name]) for r in rows]
        lines.append(f"| {name}, in process | {' | '.join(cells)} | {large} / {tenth}: "
                     f"{verdict(ratio, growth_target)} |")  # fmt: skip
        if ratio > growth_target:
            misses.append((f"{name} growth to {large} teams", last_profiles.get(name, [])))
    for mode in ("unpaired", "paired"):
        cells = [_over(r["team_apply"][mode]) for r in rows]
        worst = max(r["team_apply"][mode]["ratio"] for r in rows)
        target = (f"worst {verdict(worst, TARGETS['team_apply_vs_raw'])}" if mode == "unpaired"
                  else f"worst {worst:.2f}x (no target)")  # fmt: skip
        lines.append(f"| team apply ÷ raw partial apply, {mode} | {' | '.join(cells)} | "
                     f"{target} |")  # fmt: skip
        if mode == "unpaired" and worst > TARGETS["team_apply_vs_raw"]:
            at = max(rows, key=lambda r: r["team_apply"][mode]["ratio"])
            misses.append((f"team apply against a raw partial apply, at {_size(at['teams'])} "
                           "teams (one apply)", at["team_apply"].get("profile", [])))  # fmt: skip
    cells = [_over(r["sync_one_team"]) for r in rows]
    ratio = rows[-1]["sync_one_team"]["ratio"]
    lines.append(f"| platform sync publishing one team ÷ stock `store.apply` | "
                 f"{' | '.join(cells)} | at {large}: "
                 f"{verdict(ratio, TARGETS['sync_one_team_vs_stock'])} |")  # fmt: skip
    if ratio > TARGETS["sync_one_team_vs_stock"]:
        misses.append(("platform sync publishing one team", rows[-1]["sync_one_team"].get(
            "profile", [])))  # fmt: skip
    for key, label in (("team apply", "team apply, unpaired"),
                       ("platform sync, one team", "platform sync, one team")):  # fmt: skip
        ratio = grown["in_process"][key]
        lines.append(f"| {label}, growth | {' | '.join('' for _ in rows)} | {large} / {tenth}: "
                     f"{verdict(ratio, growth_target)} |")  # fmt: skip
        if ratio > growth_target:
            misses.append((f"{label} growth", []))
    cells = [f"{r['cli']['platform audit']['peak_mb']:.0f} MB" for r in rows]
    lines.append(f"| peak memory, `audit` command | {' | '.join(cells)} | (no target) |")
    lines += serving_lines(results["serving"])
    lines += ["", "| team apply by registry kind | ours | raw partial apply | ratio |",
              "| --- | --- | --- | --- |"]  # fmt: skip
    lines += [
        f"| {r['registry']}, {r['teams']} teams | {_ms(r['ours_ms'])} | "
        f"{_ms(r['stock_ms'])} | {r['ratio']:.2f}x |"
        for r in results["registry_kinds"]
    ]
    odfv = results["serving"]["python_odfv"]
    if odfv["vs_plain_p50"] > TARGETS["python_odfv_vs_plain"]:
        misses.append(("python-ODFV service against plain features, in process (200 reads)",
                       odfv.get("profile", [])))  # fmt: skip
    if misses:
        lines += ["", "Targets missed, with where the time goes (one profiled run):", ""]
        for what, where in misses:
            lines.append(f"- {what}" + (f": {'; '.join(where[:6])}" if where else ""))
    return "\n".join(lines) + "\n"


def serving_lines(serving_: dict) -> list[str]:
    plain = serving_["plain"]
    lines = ["", "| online read, in process (10 teams) | p50 | p99 | p50 vs plain |",
             "| --- | --- | --- | --- |"]  # fmt: skip
    labels = {
        "plain": "plain view features",
        "python_odfv": "team service: starter python ODFV (request data)",
        "singleton_odfv": "same, python ODFV with singleton=True",
        "pandas_odfv": "same, pandas ODFV",
        "python_odfv_no_request": "service with a python ODFV needing no request data",
        "stored_odfv_no_request": "same ODFV with write_to_online_store=True",
    }
    for name, label in labels.items():
        row = serving_[name]
        ratio = "1.00x" if name == "plain" else (
            verdict(row["vs_plain_p50"], TARGETS["python_odfv_vs_plain"])
            if name == "python_odfv" else f"{row['vs_plain_p50']:.2f}x"
        )  # fmt: skip
        lines.append(f"| {label} | {row['p50_ms']:.2f} ms | {row['p99_ms']:.2f} ms | {ratio} |")
    del plain
    return lines


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["sizes"]
    sizes = [row["teams"] for row in rows]
    figure, (inside, commands) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name in rows[-1]["in_process_ms"]:
        inside.plot(sizes, [r["in_process_ms"][name] for r in rows], marker="o", label=name)
    inside.plot(sizes, [r["team_apply"]["unpaired"]["ours_ms"] for r in rows], marker="o",
                label="team apply")  # fmt: skip
    inside.plot(sizes, [r["team_apply"]["unpaired"]["stock_ms"] for r in rows], marker="x",
                linestyle="--", label="raw partial apply (stock)")  # fmt: skip
    inside.plot(sizes, [r["sync_one_team"]["ours_ms"] for r in rows], marker="o",
                label="platform sync, one team")  # fmt: skip
    inside.plot(sizes, [r["sync_one_team"]["stock_ms"] for r in rows], marker="x",
                linestyle="--", label="stock store.apply, one team")  # fmt: skip
    inside.set_title("In process (median ms)")
    for name in CLI_FIGURES:
        commands.plot(sizes, [r["cli"][name]["s"] for r in rows], marker="o", label=name)
    commands.plot(sizes, [r["add_team"]["ours_s"] for r in rows], marker="o", label="add-team")
    commands.set_title("Commands, whole processes (s)")
    for axis in (inside, commands):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("registered teams")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7)
    figure.suptitle("Whole-org commands as the org grows")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 and 50 teams, few repeats")
    parser.add_argument("--output", type=Path, default=BENCH_DIR)
    parser.add_argument("--cache", type=Path, default=orgs.DEFAULT_CACHE,
                        help="where built orgs are kept")  # fmt: skip
    parser.add_argument("--rebuild", action="store_true", help="build every org again")
    parser.add_argument("--sizes", help="comma-separated team counts (default 10,100,1000,10000)")
    args = parser.parse_args()
    sizes = [10, 50] if args.quick else [10, 100, 1000, 10_000]
    if args.sizes:
        sizes = [int(size) for size in args.sizes.split(",")]
    args.output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        rows, table = [], ""
        results = {"quick": args.quick, "machine": machine(), "targets": TARGETS, "sizes": rows}
        # The small figures first: the results are written after each size from the second
        # on, so a long run stopped at its largest size still leaves the sizes it measured.
        # Quick: on the smallest org, which the sizes and serving use too (one build less).
        results["registry_kinds"] = registry_kinds(
            sizes[0] if args.quick else 100, 5 if args.quick else 15, args.cache, args.rebuild
        )
        results["serving"] = serving(100 if args.quick else 2000, args.cache, args.rebuild)
        for teams in sizes:
            large = teams >= 10_000
            repeats = (
                {"cli": 1, "read": 2, "apply": 3, "sync": 1} if args.quick else
                {"cli": 3, "read": 3 if large else 7, "apply": 9, "sync": 3 if large else 5}
            )  # fmt: skip
            profiled = teams == sizes[-1] or teams >= 1000  # a stopped run keeps some
            rows.append(measure_size(teams, repeats, args.cache, args.rebuild, profiled, scratch))
            if len(rows) > 1:
                results["growth"] = growths(results)
                table = write_results(results, args.output)
    print(table)


def write_results(results: dict, output: Path) -> str:
    """results.json, results.md and scaling.png of the sizes measured so far."""
    # bench/serve.py keeps its figures in the same file, under "serve": leave them there.
    path = output / "results.json"
    earlier = json.loads(path.read_text()) if path.is_file() else {}
    kept = {"serve": earlier["serve"]} if "serve" in earlier else {}
    path.write_text(json.dumps({**kept, **results}, indent=2))
    table = markdown(results)
    (output / "results.md").write_text(table)
    plot(results, output / "scaling.png")
    return table


if __name__ == "__main__":
    main()
