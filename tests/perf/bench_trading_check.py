"""POST /api/v1/trading/accounts/{id}/orders/check under gunicorn on PostgreSQL, against the
framework floor (a minimal DRF view doing one INSERT) and the check's own same-work floor (a
minimal view that only locks and updates the account's day row and inserts the decision), all
in the same run. Printed, never asserted.

    .venv/bin/python tests/perf/bench_trading_check.py [--seconds 6] [--rounds 3] [--connections 16]

Needs PostgreSQL at 127.0.0.1:5432 (user postgres); uses a scratch database
autopack_bench_trading (BENCH_DATABASE_URL) and port 8791 (BENCH_PORT). Every check is a new
client_order_id on one paper account with roomy limits, so every one is allowed and reserves
(the worst case: all of them wait for the same day-row lock, as the same-work floor's do).
"replay" repeats one client_order_id (the idempotent answer, no lock). Load comes from wrk when
installed (one thread, N keep-alive connections), else a Python asyncio + httpx loader.
Target (issue 10): check ≥ 0.8 of the same-work floor, p99 < 50 ms at 16 connections. Each
ratio is taken against the floors of its own round and the medians over rounds are printed.
"""

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.perf.bench_actions import load, sh  # noqa: E402

DB_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/autopack_bench_trading"
)
PORT = int(os.environ.get("BENCH_PORT", "8791"))
SCENARIOS = ("floor", "same_work", "check", "replay")


def prepare(env: dict) -> dict:
    import psycopg

    admin = DB_URL.rsplit("/", 1)[0] + "/postgres"
    name = DB_URL.rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    sh(sys.executable, "manage.py", "migrate", "-v0", env=env)
    with psycopg.connect(DB_URL, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_floor (id bigserial PRIMARY KEY, body text)")
    script = """
import json
from decimal import Decimal
from autopack_site.services import project_create, agent_key_create
from trading.services import account_create
project = project_create(slug="bench")
big = Decimal("10000000000000")
roomy = dict(max_order_value=big, max_position_value=big, max_orders_per_day=2_000_000_000,
             max_daily_loss=big, max_exposure=big, max_orders_per_minute=2_000_000_000)
check = account_create(project=project, name="check", mode="paper", actor="bench", **roomy)
same = account_create(project=project, name="same-work", mode="paper", actor="bench", **roomy)
_, key = agent_key_create(project=project, name="bench", scopes=["read", "trading:write"])
print(json.dumps({"key": key, "project": project.pk, "check": check.pk, "same": same.pk}))
"""
    out = sh(sys.executable, "manage.py", "shell", "-c", script, env=env)
    return json.loads(out.strip().splitlines()[-1])


def order(client_order_id: str) -> dict:
    return {
        "client_order_id": client_order_id,
        "symbol": "AAPL",
        "side": "buy",
        "qty": "1",
        "order_type": "market",
        "reference_price": "100.00",
        "strategy_version": "s1",
    }


def route(scenario: str, world: dict) -> tuple[str, bool]:
    """(path, authenticated)"""
    if scenario == "floor":
        return "/bench/floor", False
    if scenario == "same_work":
        return f"/bench/trading-same-work/{world['same']}", False
    return f"/api/v1/trading/accounts/{world['check']}/orders/check", True


def body_of(scenario: str, world: dict, coid: str) -> str:
    if scenario == "floor":
        return json.dumps({"n": coid})
    if scenario == "same_work":
        return json.dumps({"project": world["project"], "client_order_id": coid})
    return json.dumps(order("replayed" if scenario == "replay" else coid))


WRK_SCRIPT = r"""
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if AUTH ~= "" then wrk.headers["Authorization"] = "Bearer " .. AUTH end
function request()
  counter = counter + 1
  local coid = TAG .. "-" .. math.random(1, 1000000000) .. "-" .. counter
  if REPLAY then coid = "replayed" end
  return wrk.format(nil, PATH, nil, string.format(BODY, coid))
end
function done(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "seconds": %f, "p50": %f, "p99": %f, "non_2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def wrk_load(scenario: str, world: dict, tag: str, seconds: float, connections: int) -> dict:
    path, authenticated = route(scenario, world)
    body = body_of(scenario, world, "COID").replace("COID", "%s").replace("replayed", "%s")
    settings = (
        f"PATH = {json.dumps(path)}\nAUTH = {json.dumps(world['key'] if authenticated else '')}\n"
        f"TAG = {json.dumps(tag)}\nBODY = {json.dumps(body)}\n"
        f"REPLAY = {'true' if scenario == 'replay' else 'false'}\n"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(settings + WRK_SCRIPT)
    try:
        out = sh(
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "-s",
            script.name,
            f"http://127.0.0.1:{PORT}",
        )
    finally:
        os.unlink(script.name)
    result = json.loads(out.strip().splitlines()[-1])
    return {
        "rps": result["requests"] / result["seconds"],
        "p50": result["p50"],
        "p99": result["p99"],
        "codes": {
            "2xx": result["requests"] - result["non_2xx"],
            "other": result["non_2xx"],
            "socket_errors": result["socket_errors"],
        },
    }


def httpx_load(scenario: str, world: dict, tag: str, seconds: float, connections: int) -> dict:
    path, authenticated = route(scenario, world)
    headers = {"Content-Type": "application/json"}
    if authenticated:
        headers["Authorization"] = f"Bearer {world['key']}"
    return asyncio.run(
        load(
            path,
            lambda n: headers,
            lambda n: body_of(scenario, world, f"{tag}-{n}"),
            seconds,
            connections,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    env = {
        **os.environ,
        "DATABASE_URL": DB_URL,
        "DJANGO_SETTINGS_MODULE": "tests.perf.bench_settings",
        "DB_CONN_MAX_AGE": "60",
        "AUTOPACK_ENV": "development",
        "DEBUG": "0",
    }
    world = prepare(env)
    workers = os.environ.get("BENCH_WORKERS", str(2 * (os.cpu_count() or 1) + 1))
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "tests.perf.bench_wsgi:application",
            "-b",
            f"127.0.0.1:{PORT}",
            "-w",
            workers,
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    use_wrk = shutil.which("wrk") and not os.environ.get("BENCH_PYTHON_LOADER")
    loader = "wrk" if use_wrk else "httpx"
    measure = wrk_load if use_wrk else httpx_load
    try:
        time.sleep(3)
        import httpx

        warm = httpx.post(  # the replayed decision exists before it is measured
            f"http://127.0.0.1:{PORT}{route('replay', world)[0]}",
            content=body_of("replay", world, ""),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {world['key']}"},
            timeout=30,
        )
        assert warm.status_code == 200 and warm.json()["allowed"], warm.text
        rounds = []
        for n in range(args.rounds):
            tag = f"r{n}t{int(time.time())}"
            rounds.append(
                {s: measure(s, world, tag, args.seconds, args.connections) for s in SCENARIOS}
            )
        print(
            f"gunicorn workers={workers}, connections={args.connections}, "
            f"{args.seconds:.0f} s per scenario, {args.rounds} rounds, loader {loader}"
        )
        for n, results in enumerate(rounds, 1):
            print(f" round {n}")
            for scenario, r in results.items():
                print(
                    f"  {scenario:9s} {r['rps']:8.0f} checks/s  "
                    f"vs floor {r['rps'] / results['floor']['rps']:5.2f}  "
                    f"vs same-work {r['rps'] / results['same_work']['rps']:5.2f}  "
                    f"p50 {r['p50']:6.1f} ms  p99 {r['p99']:6.1f} ms  codes {r['codes']}"
                )
        print(" median over rounds (each ratio against its own round's floors)")
        for scenario in SCENARIOS:
            rps = statistics.median(r[scenario]["rps"] for r in rounds)
            to_floor = statistics.median(r[scenario]["rps"] / r["floor"]["rps"] for r in rounds)
            to_same = statistics.median(r[scenario]["rps"] / r["same_work"]["rps"] for r in rounds)
            p50 = statistics.median(r[scenario]["p50"] for r in rounds)
            p99 = statistics.median(r[scenario]["p99"] for r in rounds)
            print(
                f"  {scenario:9s} {rps:8.0f} checks/s  vs floor {to_floor:5.2f}  "
                f"vs same-work {to_same:5.2f}  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms"
            )
        print("  targets: check ≥ 0.80 of the same-work floor; p99 < 50 ms")
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
