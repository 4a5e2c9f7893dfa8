"""Schemathesis against /api/schema/ of a live server: every check, zero failures allowed.

Starts gunicorn (as production runs it: threaded workers) on a free loopback port over a fresh
SQLite database in a temporary folder, in development mode (DEBUG on, so unknown paths and
errors are exercised as a developer sees them), mints an agent key with every scope, and runs
``st run --checks all`` with a bounded number of examples per operation. Exits with
schemathesis's status: 0 only when no check failed and no request errored.

    .venv/bin/python tests/schema/run_schemathesis.py [--max-examples N] [--seed N]
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SCOPES = ("read", "runs:write", "actions:write", "trading:write")
HOOKS_MODULE = "tests.schema.hooks"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def wait_until_up(base_url: str, server: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode} before answering")
        try:
            with urllib.request.urlopen(f"{base_url}/api/v1/health", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server did not answer within {timeout:.0f} s")


def api(base_url: str, key: str, path: str, body: dict, **headers: str) -> dict:
    request = urllib.request.Request(
        f"{base_url}/api/v1/{path}",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json", **headers},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"{}")


def seed(base_url: str, key: str, account: int) -> dict[str, int]:
    """A run with a leased attempt, a pending approval, a paper trading account and an Alpaca
    order under its allowed pre-trade check (the ledger refuses one without)."""
    run = api(
        base_url,
        key,
        "runs",
        {"family": "seed", "run_id": "seed-1", "phases": [{"key": "plan"}, {"key": "build"}]},
    )
    attempt = api(base_url, key, f"runs/{run['id']}/claim", {})["attempt"]
    diff = "--- a/config/app.yml\n+++ b/config/app.yml\n@@ -1 +1 @@\n-a\n+b\n"
    patch = api(base_url, key, f"runs/{run['id']}/patches", {"diff": diff, "title": "seed"})
    check = api(
        base_url,
        key,
        f"trading/accounts/{account}/orders/check",
        {
            "client_order_id": "seed-1",
            "symbol": "AAPL",
            "side": "buy",
            "qty": "1",
            "order_type": "market",
            "reference_price": "100",
            "strategy_version": "seed",
        },
    )
    order = {
        "symbol": "AAPL",
        "qty": "1",
        "side": "buy",
        "type": "market",
        "time_in_force": "day",
        "reference_price": "100",
        "decision_id": check["decision_id"],
        "client_order_id": "seed-1",
    }
    action = api(
        base_url,
        key,
        "actions",
        {"provider": "alpaca", "action": "orders.create", "payload": order, "mode": "agent"},
        **{"Idempotency-Key": "seed-1"},
    )
    return {
        "run_pk": run["id"],
        "attempt_pk": attempt["id"],
        "approval_pk": patch["approval"]["id"],
        "action_pk": action["id"],
        "account_pk": account,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=30)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--workers", default="2")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="autopack-schemathesis-") as folder:
        env = {
            **os.environ,
            "AUTOPACK_ENV": "development",
            "AUTOPACK_VAR_DIR": folder,
            "DATABASE_URL": f"sqlite:///{folder}/schemathesis.sqlite3",
            "LOG_LEVEL": "ERROR",  # 4xx are the point here; a 500 still logs
            "PYTHONPATH": str(ROOT),
            "SCHEMATHESIS_HOOKS": HOOKS_MODULE,
        }
        manage(env, "migrate", "--noinput")
        manage(env, "createproject", "schemathesis", "--policy", "downstream")
        key = manage(
            env, "agentkey", "create", "--project", "schemathesis", "--name", "st", "--scopes",
            *SCOPES,
        ).splitlines()[-1].strip()  # fmt: skip
        account = int(
            manage(
                env, "tradingaccount", "create", "--project", "schemathesis", "--mode", "paper",
                "--max-orders-per-day", "100000",
            ).splitlines()[-1].strip()
        )  # fmt: skip
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "autopack_site.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--worker-class",
                "gthread",
                "--workers",
                "2",
                "--threads",
                "4",
                "--log-level",
                "warning",
                # every request line reaches Django, so what is checked is our answer (414 in
                # the error shape), not gunicorn's plain-HTML one for lines over 8190 bytes
                "--limit-request-line",
                "0",
            ],
            cwd=ROOT,
            env=env,
        )
        try:
            wait_until_up(base_url, server)
            env["AUTOPACK_SCHEMATHESIS_IDS"] = json.dumps(seed(base_url, key, account))
            command = [
                str(BIN / "st"),
                "--config-file",
                str(Path(__file__).with_name("schemathesis.toml")),
                "run",
                f"{base_url}/api/schema/",
                "--checks",
                "all",
                "--max-examples",
                str(args.max_examples),
                "--workers",
                args.workers,
                "--header",
                f"Authorization: Bearer {key}",
                "--request-timeout",
                "30",
                "--suppress-health-check",
                "all",
                "--report",
                "junit",
                "--report-dir",
                str(ROOT / "var" / "schemathesis"),
            ]
            if args.seed is not None:
                command += ["--seed", str(args.seed)]
            return subprocess.call(command, cwd=ROOT, env=env)
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
