"""The feature server under HTTP load: stock `feast serve` defaults against
`feast-federation serve` defaults, in the same run, on 127.0.0.1.

    python bench/serve.py            # >= 20,000 requests per server; 10,000 registered teams
    python bench/serve.py --quick    # small: what the tests run

A few concurrent clients, each one keep-alive connection, alternate a team's FeatureService
(python ODFV) and the same view's plain features. Reported: failed requests, p50/p99 of each,
the longest request (a stall), worker replacements, p50 with 10,000 registered teams against
10, and the seconds from a team's apply to the first successful fetch of its new service. The
orgs are bench/orgs.py's (teams really registered; built once, cached). The figures go into
results.json under "serve" (the other keys are bench/run.py's).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH_DIR), str(BENCH_DIR.parent / "tests")]

import orgs  # noqa: E402
from run import machine, percentile  # noqa: E402

from support import free_port  # noqa: E402
from support.serving import (  # noqa: E402
    Client,
    federation_serve,
    fetch_body,
    running_server,
    stock_serve,
    worker_boots,
)

TARGETS = {"service_vs_plain_p99": 1.2, "teams_many_vs_10_p50": 1.1, "longest_stall_ms": 100,
           "failed": 0, "over_100ms": 0}  # fmt: skip
SERVICE = "bench_campaign_model"
SERVICE_BODY = fetch_body(SERVICE)
PLAIN_BODY = json.dumps(
    {"features": ["customer_features:total_purchases", "customer_features:avg_order_value"],
     "entities": {"customer_id": [3001]}}
).encode()  # fmt: skip
FRESH_SERVICE = """from feast import FeatureService
from feast_federation import platform_view

from on_demand_views import bench_purchase_propensity

bench_fresh_model = FeatureService(
    name="bench_fresh_model",
    features=[platform_view("customer_features", ["total_purchases"]), bench_purchase_propensity],
)
"""


def load(port: int, requests: int, clients: int, seconds: float) -> dict:
    """``requests`` in all, spread over ``clients`` threads, stopped at ``seconds``."""
    samples: dict[str, list[float]] = {"service": [], "plain": []}
    failed = [0]
    deadline = time.monotonic() + seconds
    guard = threading.Lock()

    def client_loop(count: int) -> None:
        client = Client(port)
        for index in range(count):
            if time.monotonic() > deadline:
                break
            kind, body = ("service", SERVICE_BODY) if index % 2 else ("plain", PLAIN_BODY)
            started = time.perf_counter()
            status, _ = client.post("/get-online-features", body)
            elapsed = (time.perf_counter() - started) * 1000
            with guard:
                samples[kind].append(elapsed)
                failed[0] += status != 200
        client.close()

    threads = [threading.Thread(target=client_loop, args=(requests // clients,))
               for _ in range(clients)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = samples["service"] + samples["plain"]
    return {
        "requests": len(everything),
        "failed": failed[0],
        "service_p50_ms": percentile(samples["service"], 0.5),
        "service_p99_ms": percentile(samples["service"], 0.99),
        "plain_p50_ms": percentile(samples["plain"], 0.5),
        "plain_p99_ms": percentile(samples["plain"], 0.99),
        "longest_ms": max(everything),
        "over_100ms": sum(1 for value in everything if value > 100),
    }


def measure(kind: str, platform: Path, scratch: Path, size: dict, options: list[str]) -> dict:
    port = free_port()
    log = scratch / f"{kind}-{port}.log"
    if kind == "stock":
        command = stock_serve(port, *options)
    else:
        command = federation_serve(platform, port, *options)
    with running_server(command, platform, log, port):
        Client(port).post("/get-online-features", SERVICE_BODY)  # the first fetch: not load
        boots = worker_boots(log)
        result = load(port, size["requests"], size["clients"], size["seconds"])
        result["worker_replacements"] = worker_boots(log) - boots
    result["ratio_service_vs_plain_p99"] = result["service_p99_ms"] / result["plain_p99_ms"]
    return result


def freshness(platform: Path, team: Path, scratch: Path, refresh: int) -> dict:
    """Seconds from the end of a team's apply to the first 200 for its new service."""
    from feast_federation import sync
    from feast_federation.rules.repo import find_repo

    port = free_port()
    command = federation_serve(platform, port, "--refresh-seconds", str(refresh))
    with running_server(command, platform, scratch / "fresh.log", port):
        (team / "fresh_services.py").write_text(FRESH_SERVICE)
        sync.apply(find_repo(team))
        applied = time.monotonic()
        client, body = Client(port), fetch_body("bench_fresh_model")
        while client.post("/get-online-features", body)[0] != 200:
            if time.monotonic() - applied > refresh * 3 + 30:
                return {"refresh_seconds": refresh, "seconds": None}
            time.sleep(0.05)
        return {"refresh_seconds": refresh, "seconds": time.monotonic() - applied}


def markdown(results: dict) -> str:
    stock, ours, big = results["stock_10"], results["ours_10"], results["ours_many"]
    teams_ratio = results["teams_many_vs_10_p50"]

    def row(name, key, fmt="{:.2f} ms"):
        return f"| {name} | {fmt.format(ours[key])} | {fmt.format(stock[key])} |"

    lines = [
        f"Machine: {results['machine']['cpus']} CPUs, Feast {results['machine']['feast']}, "
        f"{results['machine']['date']}{' (quick run)' if results['quick'] else ''}; "
        f"{results['clients']} clients, keep-alive",
        "",
        "| figure (10 teams) | feast-federation serve | stock feast serve |",
        "| --- | --- | --- |",
        row("requests", "requests", "{}"),
        row("failed requests", "failed", "{}"),
        row("worker replacements", "worker_replacements", "{}"),
        row("team service p50", "service_p50_ms"),
        row("team service p99", "service_p99_ms"),
        row("plain view p50", "plain_p50_ms"),
        row("plain view p99", "plain_p99_ms"),
        row("service / plain p99 (goal <= 1.2x)", "ratio_service_vs_plain_p99", "{:.2f}x"),
        row("longest request (goal < 100 ms)", "longest_ms", "{:.1f} ms"),
        row("requests over 100 ms (goal 0)", "over_100ms", "{}"),
        "",
        f"With {results['many_teams']:,} teams (ours): service p50 {big['service_p50_ms']:.2f} ms, "
        f"p99 {big['service_p99_ms']:.2f} ms (plain {big['plain_p99_ms']:.2f} ms: "
        f"{big['ratio_service_vs_plain_p99']:.2f}x), longest {big['longest_ms']:.1f} ms, "
        f"over 100 ms {big['over_100ms']}, failed {big['failed']}; p50 {results['many_teams']:,} "
        f"/ 10 teams: {teams_ratio:.2f}x (goal <= 1.1x).",
        f"Team apply to first successful fetch of its new service: "
        f"{results['freshness']['seconds']:.2f} s with --refresh-seconds "
        f"{results['freshness']['refresh_seconds']}.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: what the tests run")
    parser.add_argument("--output", type=Path, default=BENCH_DIR)
    parser.add_argument("--cache", type=Path, default=orgs.DEFAULT_CACHE,
                        help="where built orgs are kept")  # fmt: skip
    args = parser.parse_args()
    many = 50 if args.quick else 10_000
    size = {"requests": 1200 if args.quick else 24000, "clients": 4,
            "seconds": 60 if args.quick else 600}  # fmt: skip
    # The quick run is too short to reach the defaults' 1,000 requests: both servers replace
    # workers sooner (early enough that a replacement boots within the ~1 s the quick load
    # lasts), so the quick run still crosses replacements.
    limits = ["--max-requests", "100", "--max-requests-jitter", "25"] if args.quick else []
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        small, big = orgs.org(10, args.cache), orgs.org(many, args.cache)
        small_platform, small_team, big_platform = small.platform, small.team, big.platform
        results = {"quick": args.quick, "machine": machine(), "targets": TARGETS,
                   "clients": size["clients"], "many_teams": many}  # fmt: skip
        results["stock_10"] = measure("stock", small_platform.path, scratch, size, limits)
        results["ours_10"] = measure("ours", small_platform.path, scratch, size, limits)
        results["ours_many"] = measure("ours", big_platform.path, scratch, size, limits)
        results["freshness"] = freshness(
            small_platform.path, small_team.path, scratch, 2 if args.quick else 10
        )
    results["teams_many_vs_10_p50"] = (
        results["ours_many"]["service_p50_ms"] / results["ours_10"]["service_p50_ms"]
    )
    path = args.output / "results.json"
    everything = json.loads(path.read_text()) if path.is_file() else {}
    everything["serve"] = results
    path.write_text(json.dumps(everything, indent=2))
    print(markdown(results))


if __name__ == "__main__":
    main()
