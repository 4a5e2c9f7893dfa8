"""What the HTTP benchmarks share (tests/perf/report.py, bench_actions.py, bench_trading_check.py):
the scratch database, gunicorn on tests.perf.bench_wsgi with the bench settings, and the load —
wrk (one thread, N keep-alive connections) or, without wrk, a Python asyncio + httpx loader.

A request is described once for both loaders (``Requests``): a path (``{id}`` in it goes round
``ids``), a body template, an agent key and an idempotency-key mode. In a body, ``{n}`` becomes
the request's number and ``{uid}`` an id no other request of the run has (tag-random-number);
``keymode="unique"`` sends that id as the Idempotency-Key, ``"fixed"`` sends the tag, ``"none"``
sends none.
"""

import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONNECTIONS = 16


def sh(*args: str, env: dict | None = None, check: bool = True) -> str:
    return subprocess.run(
        args, cwd=ROOT, env=env, check=check, capture_output=True, text=True
    ).stdout


# --- the scratch database and the server ---------------------------------------------------------
def bench_env(db_url: str, **extra: str) -> dict:
    """The environment of every process a benchmark starts: the bench settings, DEBUG off."""
    return {
        **os.environ,
        "DATABASE_URL": db_url,
        "DJANGO_SETTINGS_MODULE": "tests.perf.bench_settings",
        "DB_CONN_MAX_AGE": "60",
        "AUTOPACK_ENV": "development",
        "DEBUG": "0",
        # The per-key request budget is counted (its UPDATE is part of every request measured)
        # but never reached: a load run's one key asks far more than 6,000 times a minute.
        "AUTOPACK_KEY_REQUESTS_PER_MINUTE": "1000000000",
        **extra,
    }


def create_database(db_url: str, env: dict) -> None:
    """Drop and create ``db_url``'s database, migrate it, add the DRF floor's table."""
    import psycopg

    admin = db_url.rsplit("/", 1)[0] + "/postgres"
    name = db_url.rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    sh(sys.executable, "manage.py", "migrate", "-v0", env=env)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_floor (id bigserial PRIMARY KEY, body text)")


def gunicorn_workers() -> str:
    return os.environ.get("BENCH_WORKERS", str(2 * (os.cpu_count() or 1) + 1))


def start(env: dict, *command: str, **extra_env: str) -> subprocess.Popen:
    """A process in a session of its own (``stop`` kills it and its children), output dropped."""
    return subprocess.Popen(
        list(command),
        cwd=ROOT,
        env={**env, **extra_env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def gunicorn(env: dict, port: int, workers: str) -> subprocess.Popen:
    """gunicorn serving the product and the floors (tests/perf/bench_urls.py), already answering."""
    server = start(
        env,
        sys.executable,
        "-m",
        "gunicorn",
        "tests.perf.bench_wsgi:application",
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        workers,
        "--timeout",
        "60",
        "--log-level",
        "warning",
    )
    try:
        wait_serving(port)
    except BaseException:
        stop(server)
        raise
    return server


def wait_serving(port: int, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise RuntimeError("gunicorn never answered")


# --- the requests --------------------------------------------------------------------------------
def check_order(client_order_id: str) -> str:
    """The body of a pre-trade check (POST /api/v1/trading/accounts/{id}/orders/check) that an
    account with roomy limits allows; ``"{uid}"`` makes every request a new order."""
    return json.dumps(
        {
            "client_order_id": client_order_id,
            "symbol": "AAPL",
            "side": "buy",
            "qty": "1",
            "order_type": "market",
            "reference_price": "100.00",
            "strategy_version": "s1",
        }
    )


def trading_same_work_body(project_id: int) -> str:
    """The body of /bench/trading-same-work/<account id> (tests/perf/bench_urls.py)."""
    return json.dumps({"project": project_id, "client_order_id": "{uid}"})


# --- the load ------------------------------------------------------------------------------------
def fill(template: str, n: int, uid: str = "") -> str:
    """A path or body template with ``{n}`` and ``{uid}`` filled in (as the Lua script does)."""
    return template.replace("{uid}", uid).replace("{n}", str(n))


WRK_SCRIPT = r"""
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if AUTH ~= "" then wrk.headers["Authorization"] = "Bearer " .. AUTH end
local function put(template, token, value)
  return (string.gsub(template, token, function() return value end))
end
function request()
  counter = counter + 1
  local n = counter
  local uid = TAG .. "-" .. math.random(1, 1000000000) .. "-" .. n
  local path = PATH
  if #IDS > 0 then path = put(PATH, "{id}", tostring(IDS[((n - 1) % #IDS) + 1])) end
  if KEYMODE == "unique" then
    wrk.headers["Idempotency-Key"] = uid
  elseif KEYMODE == "fixed" then
    wrk.headers["Idempotency-Key"] = TAG
  end
  local body = nil
  if BODY ~= "" then body = put(put(BODY, "{uid}", uid), "{n}", tostring(n)) end
  return wrk.format(nil, path, nil, body)
end
function done(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "seconds": %f, "p50": %f, "p99": %f, "non_2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


@dataclass(frozen=True)
class Requests:
    """What a loader sends, request after request (see the module's docstring)."""

    path: str
    body: str = ""
    auth: str = ""
    keymode: str = "none"
    tag: str = ""
    ids: tuple[int, ...] = ()

    def tagged(self, tag: str) -> "Requests":
        return self if self.tag else replace(self, tag=tag)


def wrk(port: int, requests: Requests, *, seconds: float, connections: int = CONNECTIONS) -> dict:
    """POSTs for ``seconds`` with wrk; requests/s, p50/p99 in ms, counts of failures."""
    r = requests
    settings = (
        f"PATH = {json.dumps(r.path)}\nAUTH = {json.dumps(r.auth)}\n"
        f"KEYMODE = {json.dumps(r.keymode)}\nTAG = {json.dumps(r.tag)}\n"
        f"BODY = {json.dumps(r.body)}\nIDS = {{{', '.join(str(i) for i in r.ids)}}}\n"
        f"math.randomseed({random.randrange(10**9)})\n"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(settings + WRK_SCRIPT)
    try:
        out = sh(
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "30s",
            "-s",
            script.name,
            f"http://127.0.0.1:{port}",
        )
    finally:
        os.unlink(script.name)
    result = json.loads(out.strip().splitlines()[-1])
    return {
        "rps": result["requests"] / result["seconds"],
        "p50": result["p50"],
        "p99": result["p99"],
        "requests": result["requests"],
        "codes": {"non_2xx": result["non_2xx"], "socket_errors": result["socket_errors"]},
    }


def httpx_load(
    port: int, requests: Requests, *, seconds: float, connections: int = CONNECTIONS
) -> dict:
    """The same requests as ``wrk`` from asyncio + httpx in this process. It saturates a core of
    its own and so caps the floors: its ratios read higher than wrk's."""
    import httpx

    latencies: list[float] = []
    non_2xx = 0
    errors = 0
    counter = iter(range(1, 10**9))
    salt = random.randrange(1, 10**9)

    r = requests

    def request(n: int) -> tuple[str, dict, str]:
        uid = f"{r.tag}-{salt}-{n}"
        headers = {"Content-Type": "application/json"}
        if r.auth:
            headers["Authorization"] = f"Bearer {r.auth}"
        if r.keymode == "unique":
            headers["Idempotency-Key"] = uid
        elif r.keymode == "fixed":
            headers["Idempotency-Key"] = r.tag
        path = r.path.replace("{id}", str(r.ids[(n - 1) % len(r.ids)])) if r.ids else r.path
        return path, headers, fill(r.body, n, uid)

    async def client(stop_at: float) -> None:
        nonlocal non_2xx, errors
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            while time.monotonic() < stop_at:
                target, headers, content = request(next(counter))
                started = time.perf_counter()
                try:
                    response = await http.post(target, content=content, headers=headers)
                except httpx.HTTPError:
                    errors += 1
                    continue
                latencies.append((time.perf_counter() - started) * 1000)
                non_2xx += not 200 <= response.status_code < 300

    async def run() -> float:
        began = time.monotonic()
        await asyncio.gather(*(client(began + seconds) for _ in range(connections)))
        return time.monotonic() - began

    elapsed = asyncio.run(run())
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p99": latencies[max(0, int(len(latencies) * 0.99) - 1)] if latencies else float("nan"),
        "requests": len(latencies),
        "codes": {"non_2xx": non_2xx, "socket_errors": errors},
    }


def loader() -> tuple[str, Callable[..., dict]]:
    """(name, function): wrk when installed and BENCH_PYTHON_LOADER is unset, else httpx."""
    import shutil

    if shutil.which("wrk") and not os.environ.get("BENCH_PYTHON_LOADER"):
        return "wrk", wrk
    return "httpx", httpx_load


# --- rounds, for the stand-alone benchmarks ------------------------------------------------------
def measure_rounds(
    port: int,
    scenarios: tuple[str, ...],
    request_of: Callable[[str], Requests],
    *,
    rounds: int,
    seconds: float,
    connections: int,
) -> tuple[str, list[dict]]:
    """Every scenario in turn, round after round (a shared machine's speed drifts, so each ratio
    is taken against the floors of its own round). ``request_of(scenario)`` gives its requests;
    those without a tag get one of the round's. Returns the loader's name and the rounds."""
    name, measure = loader()
    measured = []
    for number in range(rounds):
        tag = f"r{number}t{time.time_ns()}"
        measured.append(
            {
                scenario: measure(
                    port,
                    request_of(scenario).tagged(tag),
                    seconds=seconds,
                    connections=connections,
                )
                for scenario in scenarios
            }
        )
    return name, measured


def print_rounds(rounds: list[dict], floors: tuple[str, ...], unit: str = "req/s") -> None:
    """Each round, then the medians over rounds, with the ratio to each floor of its round."""

    def line(scenario: str, rps: float, ratios: list[float], p50: float, p99: float) -> str:
        against = "  ".join(f"x {floor} {r:5.2f}" for floor, r in zip(floors, ratios, strict=True))
        return f"  {scenario:9s} {rps:8.0f} {unit}  {against}  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms"

    for number, results in enumerate(rounds, 1):
        print(f" round {number}")
        for scenario, r in results.items():
            ratios = [r["rps"] / results[floor]["rps"] for floor in floors]
            print(line(scenario, r["rps"], ratios, r["p50"], r["p99"]) + f"  codes {r['codes']}")
    print(" median over rounds (each ratio against its own round's floors)")
    for scenario in rounds[0]:

        def median(value: Callable[[dict], float], scenario: str = scenario) -> float:
            return statistics.median(value(r[scenario]) for r in rounds)

        ratios = [
            statistics.median(r[scenario]["rps"] / r[floor]["rps"] for r in rounds)
            for floor in floors
        ]
        print(
            line(
                scenario,
                median(lambda r: r["rps"]),
                ratios,
                median(lambda r: r["p50"]),
                median(lambda r: r["p99"]),
            )
        )


def bench(
    port: int,
    scenarios: tuple[str, ...],
    request_of: Callable[[str], Requests],
    args,
    *,
    workers: str,
    floors: tuple[str, ...],
    unit: str = "req/s",
) -> None:
    """A stand-alone benchmark's rounds (``args``: --rounds, --seconds, --connections), printed."""
    name, rounds = measure_rounds(
        port,
        scenarios,
        request_of,
        rounds=args.rounds,
        seconds=args.seconds,
        connections=args.connections,
    )
    print(
        f"gunicorn workers={workers}, connections={args.connections}, "
        f"{args.seconds:.0f} s per scenario, {args.rounds} rounds, loader {name}"
    )
    print_rounds(rounds, floors, unit)
