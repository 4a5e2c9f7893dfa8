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
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.perf.load import (  # noqa: E402
    Requests,
    bench,
    bench_env,
    create_database,
    gunicorn,
    gunicorn_workers,
    httpx_load,
    sh,
    stop,
)

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/autopack_bench")
PORT = int(os.environ.get("BENCH_PORT", "8765"))
WEBHOOK_URL = "http://127.0.0.1:9/bench"  # allowed below; proposals only check it
SCENARIOS = ("floor", "allow", "replay")


def prepare(env: dict) -> str:
    create_database(DB_URL, env)
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


def order(n: int | str) -> str:
    """An allowed action: a webhook (Alpaca orders need a pre-trade check first, docs/trading.md).
    Nothing executes it here; the webhook's target is only checked, never called."""
    return json.dumps(
        {
            "provider": "webhook",
            "action": "send",
            "payload": {"url": WEBHOOK_URL, "event": "bench", "data": {"n": "N"}},
        }
    ).replace('"N"', str(n))


def request_of(scenario: str, key: str) -> Requests:
    if scenario == "floor":
        return Requests("/bench/floor", body='{"n": {n}}')
    if scenario == "allow":
        return Requests("/api/v1/actions", body=order("{n}"), auth=key, keymode="unique")
    return Requests("/api/v1/actions", body=order(0), auth=key, keymode="fixed", tag="replayed-key")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--scenario", choices=SCENARIOS, help="only load a running server")
    parser.add_argument("--key", help="with --scenario: the agent key")
    parser.add_argument("--tag", default="bench")
    args = parser.parse_args()
    if args.scenario:  # one scenario from the httpx loader against a server already running
        result = httpx_load(
            PORT,
            request_of(args.scenario, args.key or "").tagged(args.tag),
            seconds=args.seconds,
            connections=args.connections,
        )
        print(json.dumps(result))
        return
    env = bench_env(DB_URL, AUTOPACK_OUTBOUND_ALLOW="127.0.0.1:9")
    key = prepare(env)
    workers = gunicorn_workers()
    server = gunicorn(env, PORT, workers)
    try:
        # the replayed key exists before anything is measured
        httpx_load(PORT, request_of("replay", key), seconds=1, connections=1)
        bench(
            PORT,
            SCENARIOS,
            lambda scenario: request_of(scenario, key),
            args,
            workers=workers,
            floors=("floor",),
        )
        print("  targets: allow and replay ≥ 0.60 of floor; p99 < 50 ms")
    finally:
        stop(server)


if __name__ == "__main__":
    main()
