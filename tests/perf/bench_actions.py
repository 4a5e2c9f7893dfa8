"""POST /api/v1/actions under gunicorn on PostgreSQL, against the framework floor (a minimal DRF
view doing one INSERT) measured in the same run. Printed, never asserted.

    .venv/bin/python tests/perf/bench_actions.py [--seconds 6] [--rounds 3] [--connections 16]

Needs PostgreSQL at 127.0.0.1:5432 (user postgres); uses a scratch database autopack_bench.
Load comes from another process: wrk (Debian package `wrk`, one thread, N keep-alive
connections, a Lua script giving every allow request its own Idempotency-Key) when it is
installed, otherwise a Python asyncio + httpx loader (which saturates a core of its own and so
caps the floor: its ratios read higher than wrk's). The loader used is printed.
Target (PRODUCT.md): ≥ 0.6 of the floor's requests per second, p99 < 50 ms at 16 connections.
The three scenarios run in turn, round after round; each ratio is taken against the floor of its
own round and the medians are printed, because a shared VM's speed drifts by ±20 % within minutes.
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
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/autopack_bench")
PORT = int(os.environ.get("BENCH_PORT", "8765"))
WEBHOOK_URL = "http://127.0.0.1:9/bench"  # allowed below; proposals only check it


def sh(*args: str, env: dict | None = None) -> str:
    return subprocess.run(
        args, cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


def prepare(env: dict) -> str:
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
from policies.services import policy_save_snapshot
from autopack_site.services import project_create, agent_key_create
project = project_create(slug="bench")
policy_save_snapshot(project=project, reason="bench", editor=None, snapshot={
    "safety_profile": "normal",
    "action_rules": [{"provider_glob": "webhook", "action_glob": "send", "effect": "allow"}]})
_, key = agent_key_create(project=project, name="bench", scopes=["read", "actions:write"])
print(key)
"""
    return sh(sys.executable, "manage.py", "shell", "-c", script, env=env).strip().splitlines()[-1]


def order(n: int) -> dict:
    """An allowed action: a webhook (Alpaca orders need a pre-trade check first, docs/trading.md).
    Nothing executes it here; the webhook's target is only checked, never called."""
    return {
        "provider": "webhook",
        "action": "send",
        "payload": {"url": WEBHOOK_URL, "event": "bench", "data": {"n": f"{100 + n % 50}.00"}},
    }


async def load(path, headers_for, body_for, seconds, connections) -> dict:
    import httpx

    latencies: list[float] = []
    codes: dict[int, int] = {}
    stop = time.monotonic() + seconds
    counter = iter(range(10**9))

    async def client():
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{PORT}", timeout=30) as http:
            while time.monotonic() < stop:
                n = next(counter)
                started = time.perf_counter()
                response = await http.post(path, content=body_for(n), headers=headers_for(n))
                latencies.append((time.perf_counter() - started) * 1000)
                codes[response.status_code] = codes.get(response.status_code, 0) + 1

    began = time.monotonic()
    await asyncio.gather(*(client() for _ in range(connections)))
    elapsed = time.monotonic() - began
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies),
        "p99": latencies[int(len(latencies) * 0.99) - 1],
        "codes": codes,
    }


WRK_SCRIPT = r"""
local counter = 0
local threads = {}
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if AUTH ~= "" then wrk.headers["Authorization"] = "Bearer " .. AUTH end
function setup(thread) table.insert(threads, thread) end
function request()
  counter = counter + 1
  local n = counter
  if SCENARIO == "floor" then
    return wrk.format(nil, PATH, nil, '{"n": ' .. n .. '}')
  end
  local key, price = "replayed-key", "100.00"
  if SCENARIO == "allow" then
    key = TAG .. "-" .. math.random(1, 1000000000) .. "-" .. n
    price = (100 + n % 50) .. ".00"
  end
  wrk.headers["Idempotency-Key"] = key
  return wrk.format(nil, PATH, nil, string.format(BODY, price))
end
function done(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "seconds": %f, "p50": %f, "p99": %f, "non_2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def wrk_load(scenario: str, key: str, tag: str, seconds: float, connections: int) -> dict:
    body = json.dumps(order(0)).replace("100.00", "%s")
    path = "/bench/floor" if scenario == "floor" else "/api/v1/actions"
    settings = (
        f"SCENARIO = {json.dumps(scenario)}\nPATH = {json.dumps(path)}\n"
        f"AUTH = {json.dumps(key if scenario != 'floor' else '')}\n"
        f"TAG = {json.dumps(tag)}\nBODY = {json.dumps(body)}\n"
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


def run_scenario(loader: str, scenario: str, key: str, tag: str, args) -> dict:
    if loader == "wrk":
        return wrk_load(scenario, key, tag, args.seconds, args.connections)
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--scenario",
            scenario,
            "--key",
            key,
            "--seconds",
            str(args.seconds),
            "--connections",
            str(args.connections),
            "--tag",
            tag,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def loader_main(args) -> None:
    """Runs in its own process: one scenario, prints JSON."""
    key = args.key
    json_headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    scenarios = {
        "floor": (
            "/bench/floor",
            lambda n: {"Content-Type": "application/json"},
            lambda n: json.dumps({"n": n}),
        ),
        "allow": (
            "/api/v1/actions",
            lambda n: {**json_headers, "Idempotency-Key": f"{args.tag}-{n}"},
            lambda n: json.dumps(order(n)),
        ),
        "replay": (
            "/api/v1/actions",
            lambda n: {**json_headers, "Idempotency-Key": "replayed-key"},
            lambda n: json.dumps(order(0)),
        ),
    }
    path, headers_for, body_for = scenarios[args.scenario]
    result = asyncio.run(load(path, headers_for, body_for, args.seconds, args.connections))
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--scenario")
    parser.add_argument("--key")
    parser.add_argument("--tag", default="bench")
    args = parser.parse_args()
    if args.scenario:
        loader_main(args)
        return
    env = {
        **os.environ,
        "DATABASE_URL": DB_URL,
        "DJANGO_SETTINGS_MODULE": "tests.perf.bench_settings",
        "DB_CONN_MAX_AGE": "60",
        "AUTOPACK_ENV": "development",
        "DEBUG": "0",
        "AUTOPACK_OUTBOUND_ALLOW": "127.0.0.1:9",
    }
    key = prepare(env)
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
    try:
        time.sleep(3)
        # warm the replay key once, then measure
        warm = subprocess.run(
            [
                sys.executable,
                __file__,
                "--scenario",
                "replay",
                "--key",
                key,
                "--seconds",
                "1",
                "--connections",
                "1",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert warm.returncode == 0, warm.stderr
        use_wrk = shutil.which("wrk") and not os.environ.get("BENCH_PYTHON_LOADER")
        loader = "wrk" if use_wrk else "httpx"
        rounds = []
        for n in range(args.rounds):
            results = {}
            for scenario in ("floor", "allow", "replay"):
                results[scenario] = run_scenario(
                    loader, scenario, key, f"t{n}{int(time.time())}", args
                )
            rounds.append(results)
        print(
            f"gunicorn workers={workers}, connections={args.connections}, "
            f"{args.seconds:.0f} s per scenario, {args.rounds} rounds, loader {loader}"
        )
        for n, results in enumerate(rounds, 1):
            floor = results["floor"]["rps"]
            print(f" round {n}")
            for scenario, r in results.items():
                print(
                    f"  {scenario:7s} {r['rps']:8.0f} req/s  ratio to floor "
                    f"{r['rps'] / floor:5.2f}  p50 {r['p50']:6.1f} ms  p99 {r['p99']:6.1f} ms  "
                    f"codes {r['codes']}"
                )
        print(" median over rounds (each ratio against its own round's floor)")
        for scenario in ("floor", "allow", "replay"):
            ratio = statistics.median(r[scenario]["rps"] / r["floor"]["rps"] for r in rounds)
            rps = statistics.median(r[scenario]["rps"] for r in rounds)
            p99 = statistics.median(r[scenario]["p99"] for r in rounds)
            print(
                f"  {scenario:7s} {rps:8.0f} req/s  ratio to floor {ratio:5.2f}  p99 {p99:6.1f} ms"
            )
        print("  targets: allow and replay ≥ 0.60 of floor; p99 < 50 ms")
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
