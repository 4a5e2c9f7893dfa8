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
Target (issue 10): check ≥ 0.8 of the same-work floor, p99 < 50 ms at 16 connections (the same
scenarios are measured and judged in `make report`, tests/perf/report.py). Each
ratio is taken against the floors of its own round and the medians over rounds are printed.
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
    check_order,
    create_database,
    gunicorn,
    gunicorn_workers,
    sh,
    stop,
    trading_same_work_body,
)

DB_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/autopack_bench_trading"
)
PORT = int(os.environ.get("BENCH_PORT", "8791"))
SCENARIOS = ("floor", "same_work", "check", "replay")


def prepare(env: dict) -> dict:
    create_database(DB_URL, env)
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


def request_of(scenario: str, world: dict) -> Requests:
    if scenario == "floor":
        return Requests("/bench/floor", body='{"n": {n}}')
    if scenario == "same_work":
        body = trading_same_work_body(world["project"])
        return Requests(f"/bench/trading-same-work/{world['same']}", body=body)
    coid = "replayed" if scenario == "replay" else "{uid}"
    return Requests(
        f"/api/v1/trading/accounts/{world['check']}/orders/check",
        body=check_order(coid),
        auth=world["key"],
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    env = bench_env(DB_URL)
    world = prepare(env)
    workers = gunicorn_workers()
    server = gunicorn(env, PORT, workers)
    try:
        import httpx

        replay = request_of("replay", world)
        warm = httpx.post(  # the replayed decision exists before it is measured
            f"http://127.0.0.1:{PORT}{replay.path}",
            content=replay.body,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {world['key']}"},
            timeout=30,
        )
        assert warm.status_code == 200 and warm.json()["allowed"], warm.text
        bench(
            PORT,
            SCENARIOS,
            lambda scenario: request_of(scenario, world),
            args,
            workers=workers,
            floors=("floor", "same_work"),
            unit="checks/s",
        )
        print("  targets: check ≥ 0.80 of the same-work floor; p99 < 50 ms")
    finally:
        stop(server)


if __name__ == "__main__":
    main()
