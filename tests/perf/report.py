"""`make report`: load, throughput and chaos measured in one run, written to docs/performance.md.

    .venv/bin/python tests/perf/report.py [--quick] [--output docs/performance.md]

Needs PostgreSQL (REPORT_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/autopack_report;
the database is dropped and created), wrk (Debian package `wrk`) for HTTP load and pgbench
(Debian package `postgresql-client`, installed with apt-get when missing and allowed). Every figure
comes from this run: the floors (pgbench one INSERT, a minimal DRF view, the same-work view and
the trading same-work view in tests/perf/bench_urls.py) are measured next to the scenarios they
are compared with (proposals, the pre-trade check), round after round, and each ratio is taken
against its own round's floor (the median over rounds is reported: a shared machine's speed
drifts). Last, a longer search of the governance invariant machine than CI's, run by the test
suite on PostgreSQL. Progress goes to stdout. `--quick` uses small sizes (a few
seconds per scenario) to check that everything runs; its figures are not worth committing.
"""

import argparse
import ast
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.perf.load import (  # noqa: E402
    CONNECTIONS,
    Requests,
    bench_env,
    check_order,
    create_database,
    fill,
    gunicorn,
    gunicorn_workers,
    start,
    stop,
    trading_same_work_body,
    wrk,
)

DB_URL = os.environ.get("REPORT_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/autopack_report")
TARGETS = {
    # "<scenario>_vs_<floor>": the least share of its floor's requests/s
    "allow_vs_same_work": 0.8,
    "replay_vs_drf_floor": 0.7,
    "check_vs_trading_same_work": 0.8,
    "check_replay_vs_drf_floor": 0.7,
    "p99_ms": 50.0,
    "long_poll_p99_ms": 100.0,
    "worker_two_per_second": 200.0,
}
STARTED = time.monotonic()
# the environment this script was started with, before the benchmark settings were applied
# (the invariant search runs the test suite, with its own settings)
STARTED_ENV = dict(os.environ)
INVARIANT_TEST = (
    "ledger/tests/test_governance_invariants.py"
    "::test_the_governance_invariants_hold_under_random_interleavings"
)
CHAOS_TIMINGS = {
    "AUTOPACK_ACTION_LEASE_SECONDS": "6",
    "AUTOPACK_ACTION_CALL_TIMEOUT_SECONDS": "3",
    "AUTOPACK_ACTION_RECONCILE_GRACE_SECONDS": "1",
    "AUTOPACK_ACTION_INLINE_RETRY_MAX_SECONDS": "2",
    "AUTOPACK_OUTBOX_REDELIVER_SECONDS": "20",
}


def say(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


# --- the machine --------------------------------------------------------------------------------
def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram": ram,
        "load": os.getloadavg(),
        "os": platform.platform(),
        "python": platform.python_version(),
    }


# --- the database -------------------------------------------------------------------------------
def pgbench_path() -> tuple[str | None, str]:
    found = shutil.which("pgbench")
    if found:
        return found, ""
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say("pgbench missing: apt-get install postgresql-client")
        subprocess.run(["apt-get", "install", "-y", "-q", "postgresql-client"], check=False)
        found = shutil.which("pgbench")
        if found:
            return found, "pgbench was installed by this run (apt-get install postgresql-client)."
    return None, (
        "pgbench is not installed and could not be installed here (needs root and apt-get: "
        "`apt-get install postgresql-client`); the pgbench floor is missing from this report."
    )


def pgbench_floor(pgbench: str, seconds: float) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "insert.sql"
        script.write_text("INSERT INTO bench_floor (body) VALUES ('{\"n\": 1}');\n")
        out = subprocess.run(
            [
                pgbench,
                "-n",
                "-c",
                str(CONNECTIONS),
                "-j",
                "1",
                "-T",
                str(max(1, round(seconds))),
                "-f",
                str(script),
                "-l",
                "--log-prefix",
                str(Path(folder) / "tx"),
                DB_URL,
            ],
            capture_output=True,
            text=True,
            check=True,
            cwd=folder,
        ).stdout
        tps = next(
            float(line.split("=")[1].split()[0])
            for line in out.splitlines()
            if line.startswith("tps =")
        )
        latencies = []
        for log in Path(folder).glob("tx*"):
            for line in log.read_text().splitlines():
                parts = line.split()
                if len(parts) >= 3:
                    latencies.append(int(parts[2]) / 1000)
    return {
        "rps": tps,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "codes": {},
    }


def webhook_body(fake_url: str, **extra) -> str:
    body = {
        "provider": "webhook",
        "action": "send",
        "payload": {"url": f"{fake_url}/webhook/bench", "event": "bench", "data": {"n": 0}},
        **extra,
    }
    return json.dumps(body).replace('"n": 0', '"n": {n}')


DENIED_BODY = json.dumps(
    {
        "provider": "etsy",
        "action": "listings.create_draft",
        "payload": {
            "shop_id": 1,
            "quantity": 1,
            "title": "A mug",
            "description": "A mug.",
            "price": "{n}.00",
            "who_made": "i_did",
            "when_made": "2020_2025",
            "taxonomy_id": 1,
        },
    }
)


# --- the report process's own Django (seeding, approvals, counting) -------------------------------
def setup_django(env: dict) -> None:
    os.environ.update(env)
    import django

    django.setup()


def seed(fake_url: str) -> dict:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from autopack_site.models import Role
    from autopack_site.services import agent_key_create, project_create, signing_secret_rotate
    from ledger.models import ProviderCredential
    from ledger.tests.conftest import POLICY, SCOPES, SECRETS, secret_environment
    from policies.services import policy_save_snapshot
    from tests.factories import make_staff
    from trading.services import account_create

    project = project_create(slug="bench")
    policy_save_snapshot(project=project, reason="bench", editor=None, snapshot=POLICY)
    for provider, scopes in SCOPES.items():
        ProviderCredential.objects.create(
            project=project,
            provider=provider,
            name=f"{provider}-bench",
            environment="sandbox",
            scopes=scopes,
            allowed_actions=["*"],
            secret_name=SECRETS[provider][0] if provider in SECRETS else "",
            rotated_at=timezone.now(),
        )
    signing_secret_rotate(project=project)
    _, key = agent_key_create(
        project=project,
        name="bench",
        scopes=["read", "actions:write", "runs:write", "trading:write"],
    )
    # the pre-trade check's paper account and its same-work floor's own, limits never reached
    big = Decimal("10000000000000")
    roomy = {
        "max_order_value": big,
        "max_position_value": big,
        "max_orders_per_day": 2_000_000_000,
        "max_daily_loss": big,
        "max_exposure": big,
        "max_orders_per_minute": 2_000_000_000,
    }
    check = account_create(project=project, name="check", mode="paper", actor="bench", **roomy)
    same = account_create(project=project, name="same-work", mode="paper", actor="bench", **roomy)
    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-pass")
    # superusers see everything but decide nothing: the approver (and the admin pages' reader)
    # is a staff member holding the operator role in the project
    operator = make_staff(project, Role.OPERATOR, username="bench-operator")
    os.environ.update(secret_environment(project))
    return {
        "project": project,
        "key": key,
        "trading": {"check": check.pk, "same_work": same.pk},
        "user": user,
        "operator": operator,
        "secrets": secret_environment(project),
    }


def post_action(port: int, key: str, idempotency_key: str, body: str, n: int = 0):
    import httpx

    return httpx.post(
        f"http://127.0.0.1:{port}/api/v1/actions",
        content=fill(body, n),
        headers={
            "Authorization": f"Bearer {key}",
            "Idempotency-Key": idempotency_key,
            "Content-Type": "application/json",
        },
        timeout=30,
    )


# --- scenarios ---------------------------------------------------------------------------------
def http_rounds(port: int, seeded: dict, fake_url: str, args, pgbench: str | None) -> dict:
    import httpx

    key = seeded["key"]
    check_path = f"/api/v1/trading/accounts/{seeded['trading']['check']}/orders/check"
    webhook = webhook_body(fake_url)
    scenarios = {
        "drf_floor": Requests("/bench/floor", body='{"n": {n}}'),
        "same_work": Requests("/bench/same-work", body=webhook, auth=key, keymode="unique"),
        "allow": Requests("/api/v1/actions", body=webhook, auth=key, keymode="unique"),
        "replay": Requests(
            "/api/v1/actions", body=fill(webhook, 0), auth=key, keymode="fixed", tag="replayed"
        ),
        "deny": Requests("/api/v1/actions", body=DENIED_BODY, auth=key, keymode="unique"),
        "dry_run": Requests(
            "/api/v1/actions",
            body=webhook_body(fake_url, dry_run=True),
            auth=key,
            keymode="unique",
        ),
        # the pre-trade check: every request a new client_order_id on one paper account, so all
        # are allowed and reserve (all wait for the same day-row lock, as its floor's do)
        "trading_same_work": Requests(
            f"/bench/trading-same-work/{seeded['trading']['same_work']}",
            body=trading_same_work_body(seeded["project"].pk),
        ),
        "check": Requests(check_path, body=check_order("{uid}"), auth=key),
        "check_replay": Requests(check_path, body=check_order("replayed"), auth=key),
    }
    # the replayed key, and the rows the same-work floor copies, exist before anything is timed
    first = post_action(port, key, "replayed", scenarios["replay"].body)
    assert first.status_code in (200, 201), first.text
    template = post_action(port, key, "same-work-template", webhook_body(fake_url), 0)
    assert template.status_code == 201, template.text
    check = httpx.post(
        f"http://127.0.0.1:{port}{check_path}",
        content=scenarios["check_replay"].body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert check.status_code == 200 and check.json()["allowed"], check.text
    rounds = []
    for number in range(1, args.rounds + 1):
        results = {}
        if pgbench:
            say(f"round {number}/{args.rounds}: pgbench one-INSERT floor")
            results["pgbench_floor"] = r = pgbench_floor(pgbench, args.seconds)
            say(f"  {r['rps']:8.0f} tx/s   p50 {r['p50']:6.1f} ms  p99 {r['p99']:6.1f} ms")
        for name, spec in scenarios.items():
            say(f"round {number}/{args.rounds}: {name}")
            tag = f"{name}-{number}-{time.time_ns()}"
            results[name] = wrk(port, spec.tagged(tag), seconds=args.seconds)
            r = results[name]
            say(
                f"  {r['rps']:8.0f} req/s  p50 {r['p50']:6.1f} ms  p99 {r['p99']:6.1f} ms  "
                f"{r['codes']}"
            )
        rounds.append(results)
    return {"rounds": rounds}


def claim_phase(port: int, key: str, fake_url: str, args) -> dict:
    """Agent mode: actions proposed to run in the agent, then POST /actions/{id}/claim, each id
    once (single claim, hash and approval re-check, lease)."""
    from ledger.models import ExternalAction

    say("claim phase: proposing agent-mode actions to claim")
    tag = f"agent-{time.time_ns()}"
    proposed = wrk(
        port,
        Requests(
            "/api/v1/actions",
            body=webhook_body(fake_url, mode="agent"),
            auth=key,
            keymode="unique",
            tag=tag,
        ),
        seconds=args.seconds * 1.5,
    )
    ids = list(
        ExternalAction.objects.filter(idempotency_key__startswith=tag, status="approved")
        .order_by("id")
        .values_list("id", flat=True)
    )
    say(f"  {len(ids)} agent-mode actions; claiming")
    claimed = wrk(
        port, Requests("/api/v1/actions/{id}/claim", auth=key, ids=tuple(ids)), seconds=args.seconds
    )
    claimed["unclaimed_left"] = max(0, len(ids) - claimed["requests"])
    say(
        f"  {claimed['rps']:8.0f} req/s  p50 {claimed['p50']:6.1f} ms  "
        f"p99 {claimed['p99']:6.1f} ms  {claimed['codes']}"
    )
    return {"propose_agent_mode": proposed, "claim": claimed, "ids": len(ids)}


def phase_claims(port: int, key: str, project, runs: int, phases: int, seconds: float) -> dict:
    """POST /api/v1/runs/{id}/claim: the next executable phase of a run, one claimer wins.
    ``runs`` runs of ``phases`` independent phases each; the requests go round the runs."""
    from runs.models import Phase
    from runs.services import PhaseSpec
    from tests.factories import make_run

    say(f"claim phase: {runs} runs of {phases} phases")
    tag = f"claims-{time.time_ns()}"
    ids = [
        make_run(
            project,
            run_id=f"{tag}-{n}",
            phases=[PhaseSpec(key=f"p{i}") for i in range(phases)],
        ).pk
        for n in range(runs)
    ]
    result = wrk(
        port,
        Requests("/api/v1/runs/{id}/claim", body="{}", auth=key, ids=tuple(ids)),
        seconds=seconds,
    )
    result["phases"] = runs * phases
    result["claimed"] = Phase.objects.filter(run_id__in=ids).exclude(status="pending").count()
    say(
        f"  {result['rps']:8.0f} req/s  p50 {result['p50']:6.1f} ms  p99 {result['p99']:6.1f} ms"
        f"  {result['claimed']} phases claimed  {result['codes']}"
    )
    return result


def long_poll(port: int, key: str, user, samples: int) -> dict:
    """An agent waits on GET /actions/{id}?wait=30; an operator approves; the time from the
    decision's commit to the agent's answer."""
    import httpx
    from django.db import transaction

    from approvals.services import approval_decide
    from ledger.models import ExternalAction
    from ledger.tests.conftest import product

    body = json.dumps(
        {"provider": "shopify", "action": "products.create", "payload": product(title="{n}")}
    )
    latencies = []
    timed_out = 0
    for n in range(samples):
        response = post_action(port, key, f"long-poll-{time.time_ns()}-{n}", body, n)
        assert response.status_code == 201, response.text
        action = ExternalAction.objects.select_related("approval").get(pk=response.json()["id"])
        answered: dict = {}

        def wait(action_id=action.pk, box=answered):
            try:
                with httpx.Client(timeout=40) as http:
                    reply = http.get(
                        f"http://127.0.0.1:{port}/api/v1/actions/{action_id}?wait=30",
                        headers={"Authorization": f"Bearer {key}"},
                    )
                box["at"] = time.perf_counter()
                box["status"] = reply.json().get("status")
            except httpx.HTTPError as exc:
                box["error"] = repr(exc)

        waiter = threading.Thread(target=wait)
        asked_at = time.perf_counter()
        waiter.start()
        # The agent must have read the row before the decision: a first read that already sees
        # `approved` waits for the next change (execution), which nothing runs here, for 30 s.
        time.sleep(1.0)
        committed: dict = {}
        with transaction.atomic():
            approval_decide(
                request_id=action.approval_id,
                user=user,
                approve=True,
                payload_hash_seen=action.approval.payload_hash,
            )
            transaction.on_commit(lambda box=committed: box.setdefault("at", time.perf_counter()))
        waiter.join(timeout=40)
        if "at" in answered and answered["status"] != "pending_approval":
            latencies.append((answered["at"] - committed["at"]) * 1000)
            if answered["at"] - asked_at >= 29:
                timed_out += 1
    result = {
        "samples": len(latencies),
        "asked": samples,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "max": max(latencies) if latencies else float("nan"),
        "timed_out": timed_out,
    }
    say(f"long-poll wake-up: p50 {result['p50']:.1f} ms  p99 {result['p99']:.1f} ms")
    return result


def propose_in_process(project, key_plaintext: str, fake_url: str, count: int, tag: str) -> None:
    """``count`` allowed webhook actions through the real service (what POST /actions does)."""
    from autopack_site.services import agent_key_authenticate
    from ledger.serializers import render_answer
    from ledger.services import Proposal, action_propose

    key = agent_key_authenticate(plaintext=key_plaintext)
    for n in range(count):
        action_propose(
            project=project,
            key=key,
            idempotency_key=f"{tag}-{n}",
            proposal=Proposal(
                provider="webhook",
                action="send",
                payload={"url": f"{fake_url}/webhook/{tag}", "event": "bench", "data": {"n": n}},
            ),
            answer_for=render_answer,
        )


def profile(name: str, post, count: int, floor_note: str) -> dict:
    """Where the time of one kind of request goes: ``post(n)`` (one request through the whole
    Django stack in this process, no gunicorn, no network) ``count`` times under cProfile, after
    three warm-up calls; the SQL statements of one request are captured."""
    import cProfile
    import io
    import pstats

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    say(f"profiling {count} requests in-process: {name}")
    for n in range(3):  # warm: imports, the compiled policy, connections
        post(n)
    with CaptureQueriesContext(connection) as captured:
        post(3)
    statements = [" ".join(q["sql"].split())[:110] for q in captured.captured_queries]
    profiler = cProfile.Profile()
    began = time.perf_counter()
    profiler.enable()
    for n in range(count):
        post(n)
    profiler.disable()
    per_request = (time.perf_counter() - began) * 1000 / count
    ours = io.StringIO()
    stats = pstats.Stats(profiler, stream=ours).sort_stats("cumulative")
    stats.print_stats(r"/(ledger|autopack_site|policies|approvals|runs|trading)/(?!.*tests)", 18)
    overall = io.StringIO()
    pstats.Stats(profiler, stream=overall).sort_stats("tottime").print_stats(12)

    def trim(text: str) -> str:
        lines = text.replace(str(ROOT) + "/", "").replace(sys.prefix + "/", "").splitlines()
        start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
        return "\n".join(line.rstrip() for line in lines[start:] if line.strip())

    say(f"  {per_request:.1f} ms per request in-process (profiled), {len(statements)} statements")
    return {
        "ms_per_request": per_request,
        "statements": statements,
        "floor_note": floor_note,
        "ours": trim(ours.getvalue()),
        "overall": trim(overall.getvalue()),
    }


def profile_proposals(key: str, fake_url: str, count: int) -> dict:
    """An allowed and a replayed proposal (POST /api/v1/actions) under cProfile."""
    from django.test import Client

    client = Client()
    note = "the same-work floor makes 9: key, read, BEGIN, five inserts, COMMIT; the DRF floor 1"
    out = {}
    for name, body, unique in (
        ("allowed proposal", webhook_body(fake_url), True),
        ("replayed proposal", fill(webhook_body(fake_url), 0), False),
    ):

        def propose(n: int, body=body, unique=unique):
            response = client.post(
                "/api/v1/actions",
                data=fill(body, n),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {key}",
                HTTP_IDEMPOTENCY_KEY=f"profile-{time.time_ns()}-{n}" if unique else "replayed",
            )
            assert response.status_code in (200, 201), response.content

        out[name] = profile(name, propose, count, note)
    return out


def profile_checks(key: str, account_id: int, count: int) -> dict:
    """An allowed pre-trade check (a new client_order_id each) and a replayed one under cProfile."""
    from django.test import Client

    client = Client()
    path = f"/api/v1/trading/accounts/{account_id}/orders/check"
    note = (
        "the trading same-work floor makes 5: BEGIN, the day row locked, updated, the decision "
        "inserted, COMMIT; the DRF floor 1"
    )
    out = {}
    for name, unique in (("allowed pre-trade check", True), ("replayed pre-trade check", False)):

        def check(n: int, unique=unique):
            coid = f"profile-{time.time_ns()}-{n}" if unique else "replayed"
            response = client.post(
                path,
                data=check_order(coid),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {key}",
            )
            assert response.status_code == 200 and response.json()["allowed"], response.content

        out[name] = profile(name, check, count, note)
    return out


def profile_execution(seeded: dict, fake_url: str, count: int) -> dict:
    """What a worker does for each approved webhook action — the outbox task's body,
    ``action_execute``: claim, re-verify, call the fake provider over loopback, record — under
    cProfile, one new action per call."""
    from ledger.models import ExternalAction
    from ledger.services import action_execute

    tag = f"profile-execution-{time.time_ns()}"
    propose_in_process(seeded["project"], seeded["key"], fake_url, count + 4, tag)
    waiting = list(
        ExternalAction.objects.filter(idempotency_key__startswith=tag)
        .order_by("-pk")
        .values_list("pk", flat=True)
    )

    def execute(n: int) -> None:
        outcome = action_execute(waiting.pop())
        assert outcome == "succeeded", outcome

    note = (
        "around each, django-q2 dequeues the task from its ORM broker, the monitor saves the "
        "result and acknowledges it, and the outbox marks its message delivered"
    )
    name = "a worker executing an approved webhook action"
    return {name: profile(name, execute, count, note)}


def retire_http_leftovers() -> None:
    """The HTTP scenarios leave thousands of allowed actions queued (nothing ran them): they are
    set aside (cancelled, their outbox rows marked delivered) so that the worker and chaos
    phases execute only their own actions."""
    from django.db import connection

    from autopack_site.models import OutboxMessage
    from ledger.models import ExternalAction

    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{ExternalAction._meta.db_table}" SET status = %s, next_attempt_at = NULL, '
            "lease_expires_at = NULL WHERE status IN ('approved', 'executing', 'unknown')",
            ["cancelled"],
        )
        cursor.execute(
            f'UPDATE "{OutboxMessage._meta.db_table}" SET delivered_at = now(), '
            "sent_at = coalesce(sent_at, now()) WHERE delivered_at IS NULL"
        )


def worker_throughput(env: dict, seeded: dict, fake_url: str, count: int, workers: int) -> dict:
    """``count`` approved actions wait in the outbox; the relay and one django-q2 cluster with
    ``workers`` worker processes start; the time until every one succeeded at the fake."""
    from django.db.models import Max, Min

    from ledger.models import ActionEvent, ExternalAction

    tag = f"throughput-{workers}-{time.time_ns()}"
    say(f"worker throughput, {workers} worker(s): proposing {count} approved actions")
    propose_in_process(seeded["project"], seeded["key"], fake_url, count, tag)
    rows = ExternalAction.objects.filter(idempotency_key__startswith=tag)
    say("  starting the relay and the worker")
    began = time.time()
    processes = [
        start(env, sys.executable, "manage.py", "outbox_relay"),
        start(env, sys.executable, "manage.py", "qcluster", Q_WORKERS=str(workers)),
    ]
    deadline = time.monotonic() + max(180, count / 2)
    try:
        while time.monotonic() < deadline:
            done = rows.filter(status="succeeded").count()
            say(f"  {done}/{count} succeeded")
            if done >= count or rows.exclude(status__in=("approved", "executing")).count() >= count:
                break
            time.sleep(1.0)
    finally:
        for process in processes:
            stop(process)
    events = ActionEvent.objects.filter(action__in=rows)
    span = events.filter(to_status="executing").aggregate(first=Min("created_at"))
    last = events.filter(to_status="succeeded").aggregate(last=Max("created_at"))["last"]
    succeeded = rows.filter(status="succeeded").count()
    first = span["first"]
    seconds = (last - first).total_seconds() if first and last else float("nan")
    approved = dict(events.filter(to_status="approved").values_list("action_id", "created_at"))
    finished = dict(events.filter(to_status="succeeded").values_list("action_id", "created_at"))
    start_at = datetime.fromtimestamp(began, tz=UTC)
    waits = [
        (finished[pk] - max(approved[pk], start_at)).total_seconds() * 1000
        for pk in finished
        if pk in approved
    ]
    result = {
        "workers": workers,
        "actions": count,
        "succeeded": succeeded,
        "statuses": dict(Counter(rows.values_list("status", flat=True))),
        "seconds": seconds,
        "per_second": succeeded / seconds if seconds and seconds == seconds else float("nan"),
        "p50_ms": percentile(waits, 50),
        "p99_ms": percentile(waits, 99),
    }
    say(
        f"  {result['per_second']:.1f} actions/s, p99 approval→execution "
        f"{result['p99_ms']:.0f} ms, statuses {result['statuses']}"
    )
    return result


def admin_pages(rows: int) -> dict:
    """The approval inbox, the external actions list (and its needs-attention filter) and the
    admin index with ``rows`` approval requests and ``rows`` actions."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from approvals.models import ApprovalRequest
    from ledger.models import ExternalAction

    if not ApprovalRequest.objects.filter(status="pending").exists():
        from autopack_site.models import AgentKey
        from ledger.serializers import render_answer
        from ledger.services import Proposal, action_propose
        from ledger.tests.conftest import product

        key = AgentKey.objects.get(name="bench")
        action_propose(
            project=key.project,
            key=key,
            idempotency_key="inbox-template",
            proposal=Proposal(provider="shopify", action="products.create", payload=product()),
            answer_for=render_answer,
        )
    say(f"admin pages: copying template rows to {rows} approval requests and {rows} actions")
    with connection.cursor() as cursor:
        for model, unique, where in (
            (ApprovalRequest, {"subject": "'bench-' || g"}, "status = 'pending'"),
            (
                ExternalAction,
                {
                    "idempotency_key": "'bench-' || g",
                    "reference": "'bench-' || g",
                    # finished, so that no sweep picks them up
                    "status": "'succeeded'",
                    "next_attempt_at": "NULL",
                    "lease_expires_at": "NULL",
                },
                "status = 'succeeded'",
            ),
        ):
            table = model._meta.db_table
            cursor.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
                "AND NOT attisdropped AND attname <> 'id' ORDER BY attnum",
                [table],
            )
            columns = [name for (name,) in cursor.fetchall()]
            select = ", ".join(unique.get(name, f't."{name}"') for name in columns)
            names = ", ".join(f'"{name}"' for name in columns)
            cursor.execute(
                f'INSERT INTO "{table}" ({names}) SELECT {select} FROM "{table}" t, '
                f"generate_series(1, %s) g WHERE t.id = "
                f'(SELECT min(id) FROM "{table}" WHERE {where})',
                [rows],
            )
        cursor.execute("ANALYZE")
    from tests.factories import login_with_second_factor

    client = login_with_second_factor(
        Client(), get_user_model().objects.get(username="bench-operator")
    )
    pages = {
        "admin index (dashboard)": "/admin/",
        "approval inbox (pending)": "/admin/approvals/approvalrequest/",
        "external actions": "/admin/ledger/externalaction/",
        "external actions, approved": "/admin/ledger/externalaction/?status__exact=approved",
    }
    results = {}
    for label, url in pages.items():
        timings = []
        queries = 0
        status = None
        for _ in range(5):
            with CaptureQueriesContext(connection) as captured:
                began = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - began) * 1000)
            queries = len(captured.captured_queries)
            status = response.status_code
        results[label] = {
            "url": url,
            "status": status,
            "ms": statistics.median(timings),
            "queries": queries,
        }
        say(f"  {label}: {results[label]['ms']:.0f} ms, {queries} queries, HTTP {status}")
    return {"rows": rows, "pages": results}


def chaos(env: dict, seeded: dict, fake, executions: int, seed_value: int) -> dict:
    """Workers and the relay SIGKILLed and restarted at random while ``executions`` webhook
    actions run and the fake provider answers some with 500, some too slowly (past the call
    timeout) and drops some connections after doing the work."""
    from ledger.models import ActionEvent, ExternalAction
    from ledger.services import actions_dispatch_due

    settled = {"succeeded", "failed", "needs_reconciliation", "cancelled", "expired"}
    rng = random.Random(seed_value)
    tag = f"chaos-{time.time_ns()}"
    faults = max(2, executions // 50)
    fake.fault(match=f"/webhook/{tag}", mode="500", count=faults)
    fake.fault(match=f"/webhook/{tag}", mode="slow", count=faults, delay=4)
    fake.fault(match=f"/webhook/{tag}", mode="drop_after_commit", count=faults)
    chaos_env = {**env, "Q_WORKERS": "2"}
    names = {
        "worker-a": ("qcluster",),
        "worker-b": ("qcluster",),
        "relay": ("outbox_relay",),
    }
    running = {
        name: start(chaos_env, sys.executable, "manage.py", *command)
        for name, command in names.items()
    }
    halt = threading.Event()
    kills = Counter()

    def havoc() -> None:
        while not halt.wait(rng.uniform(0.8, 2.0)):
            victim = rng.choice(list(names))
            stop(running[victim])
            kills[victim] += 1
            time.sleep(0.3)
            running[victim] = start(chaos_env, sys.executable, "manage.py", *names[victim])

    say(f"chaos: {executions} executions, workers and relay killed at random")
    thread = threading.Thread(target=havoc, daemon=True)
    thread.start()
    rows = ExternalAction.objects.filter(idempotency_key__startswith=tag)
    try:
        batch = max(1, executions // 10)
        for offset in range(0, executions, batch):
            propose_in_process(
                seeded["project"],
                seeded["key"],
                fake.url,
                min(batch, executions - offset),
                f"{tag}-{offset}",
            )
            say(f"  proposed {min(offset + batch, executions)}/{executions}")
            time.sleep(0.5)
        deadline = time.monotonic() + max(30, executions / 4)
        while time.monotonic() < deadline:
            open_ = rows.exclude(status__in=settled).count()
            say(f"  {executions - open_}/{executions} settled while killing")
            if not open_:
                break
            time.sleep(2)
        halt.set()
        thread.join(timeout=30)
        # the sweeps run once a minute in production; here they are driven until all settled
        say("  havoc stopped; sweeping until every action settled")
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            actions_dispatch_due()
            open_ = rows.exclude(status__in=settled).count()
            if not open_:
                break
            say(f"  {open_} not settled yet")
            time.sleep(5)  # each sweep queues a reconcile per unknown action: not too often
    finally:
        halt.set()
        thread.join(timeout=30)
        for process in running.values():  # no worker outlives the run, whatever happened
            stop(process)
    statuses = Counter(rows.values_list("status", flat=True))
    references = set(rows.values_list("reference", flat=True))
    received = fake.state_snapshot()["created"].get("webhook", [])
    deliveries = Counter(
        item.get("headers", {}).get("X-Autopack-Reference")
        for item in received
        if item["path"].startswith(f"/webhook/{tag}")
    )
    duplicates = sum(count - 1 for ref, count in deliveries.items() if ref and count > 1)
    reconciled = (
        ActionEvent.objects.filter(action__in=rows, from_status="unknown")
        .values("action_id")
        .distinct()
        .count()
    )
    lost = executions - sum(statuses.values())  # no row at all
    unsettled = sum(count for status, count in statuses.items() if status not in settled)
    succeeded_without_delivery = sum(
        1
        for ref in rows.filter(status="succeeded").values_list("reference", flat=True)
        if deliveries.get(ref, 0) == 0
    )
    result = {
        "executions": executions,
        "statuses": dict(statuses),
        "duplicates": duplicates,
        "lost": lost,
        "unsettled": unsettled,
        "reconciled": reconciled,
        "kills": dict(kills),
        "deliveries": sum(deliveries.values()),
        "unknown_references": len(set(deliveries) - references - {None}),
        "succeeded_without_delivery": succeeded_without_delivery,
        "faults": {
            "500": faults,
            "slow (past the call timeout)": faults,
            "drop after work": faults,
        },
    }
    say(
        f"  duplicates {duplicates}, lost {lost}, through reconciliation {reconciled}, "
        f"statuses {dict(statuses)}"
    )
    return result


def invariants(examples: int, steps: int) -> dict:
    """The governance invariant machine (ledger/tests/test_governance_invariants.py) searched
    longer than CI does, on PostgreSQL, by the test suite itself (its settings, its fixtures,
    its own test database next to the report's)."""
    say(f"governance invariants: {examples} examples of up to {steps} steps")
    started = time.monotonic()
    finished = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", INVARIANT_TEST],
        cwd=ROOT,
        env={
            **STARTED_ENV,
            "DATABASE_URL": DB_URL,
            "AUTOPACK_INVARIANT_EXAMPLES": str(examples),
            "AUTOPACK_INVARIANT_STEPS": str(steps),
        },
        capture_output=True,
        text=True,
        timeout=3600,
    )
    happened = re.search(r"what happened: (\{.*\})", finished.stdout)
    seen = ast.literal_eval(happened.group(1)) if happened else {}
    result = {
        "examples": examples,
        "max_steps": steps,
        "held": finished.returncode == 0,
        "seen": seen,
        "seconds": time.monotonic() - started,
        "output": "" if finished.returncode == 0 else finished.stdout[-4000:],
    }
    checked = seen.get("states checked", 0)
    say(
        f"  {'held' if result['held'] else 'VIOLATED'}: {checked - seen.get('examples', 0)} "
        f"steps in {seen.get('examples', 0)} examples, {result['seconds']:.0f} s"
    )
    return result


# --- the report --------------------------------------------------------------------------------
def median_of(rounds: list[dict], scenario: str, field: str) -> float:
    values = [r[scenario][field] for r in rounds if scenario in r]
    return statistics.median(values) if values else float("nan")


def ratio_of(rounds: list[dict], scenario: str, floor: str) -> float:
    values = [r[scenario]["rps"] / r[floor]["rps"] for r in rounds if floor in r and scenario in r]
    return statistics.median(values) if values else float("nan")


def verdict(value: float, target: float, *, at_least: bool) -> str:
    if value != value:  # NaN
        return "not measured"
    met = value >= target if at_least else value < target
    if met:
        return "**met**"
    if at_least:
        return f"**missed** by {target - value:.2f} ({(1 - value / target) * 100:.0f} % short)"
    return f"**missed** by {value - target:.1f} ms ({(value / target - 1) * 100:.0f} % over)"


def render(data: dict) -> str:
    m = data["machine"]
    rounds = data["http"]["rounds"]
    lines = [
        "# Performance report",
        "",
        f"Written by `make report`{' --quick' if data['quick'] else ''} "
        f"(`tests/perf/report.py`) on {data['finished']} in {data['duration'] / 60:.1f} min. "
        "Every figure below was measured in that run; the floors were measured next to the "
        "scenarios they are compared with.",
        "",
    ]
    if data["quick"]:
        lines += [
            "> **Quick mode**: small sizes, a few seconds per scenario. These figures show that",
            "> the command runs; they are not the measurements to judge the product by.",
            "",
        ]
    lines += [
        "## The machine",
        "",
        "| | |",
        "|---|---|",
        f"| CPU | {m['cpu']} |",
        f"| cores | {m['cores']} |",
        f"| RAM | {m['ram']} |",
        f"| PostgreSQL | {data['postgres']} |",
        f"| load average at start (1, 5, 15 min) | {', '.join(f'{x:.2f}' for x in m['load'])} |",
        f"| OS, Python | {m['os']}, Python {m['python']} |",
        f"| HTTP server | gunicorn, {data['gunicorn_workers']} sync workers, DEBUG off |",
        f"| load generator | wrk, 1 thread, {CONNECTIONS} keep-alive connections |",
        "",
        "Everything ran on this one machine: PostgreSQL, gunicorn, the load generator, the",
        "workers and the fake provider share its cores, so the ratios say more than the rates.",
        "",
    ]
    if data.get("pgbench_note"):
        lines += [f"Note: {data['pgbench_note']}", ""]
    lines += ["## Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    for row in data["targets"]:
        lines.append(f"| {row[0]} | {row[1]} | {row[2]} |")
    lines += [
        "",
        "Where a proposal or pre-trade check target is missed, the profiles at the end of this",
        "report show where the time of an allowed and of a replayed request goes.",
        "",
        f"## Requests ({len(rounds)} round(s) of {data['seconds']:.0f} s per scenario, "
        f"{CONNECTIONS} connections)",
        "",
        "Medians over rounds; each ratio is taken against the floor of its own round.",
        "",
        "| scenario | req/s | p50 ms | p99 ms | x pgbench floor | x DRF floor "
        "| x same-work floor | non-2xx |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    labels = {
        "pgbench_floor": "pgbench: one INSERT (floor)",
        "drf_floor": "minimal DRF view: one INSERT (floor)",
        "same_work": "same-work view: key lookup, one read, the inserts (floor)",
        "allow": "propose, allowed",
        "replay": "propose, replayed key",
        "deny": "propose, denied",
        "dry_run": "propose, dry run",
    }
    for scenario, label in labels.items():
        if not any(scenario in r for r in rounds):
            continue

        def ratio(floor, scenario=scenario):
            value = ratio_of(rounds, scenario, floor)
            return "-" if value != value else f"{value:.2f}"

        non_2xx = sum(r[scenario]["codes"].get("non_2xx", 0) for r in rounds)
        lines.append(
            f"| {label} | {median_of(rounds, scenario, 'rps'):.0f} "
            f"| {median_of(rounds, scenario, 'p50'):.1f} "
            f"| {median_of(rounds, scenario, 'p99'):.1f} "
            f"| {ratio('pgbench_floor')} | {ratio('drf_floor')} | {ratio('same_work')} "
            f"| {non_2xx} |"
        )
    claim = data["claim"]
    phase = data["phase_claim"]
    lines += [
        "",
        "Denied proposals answer 201 with status `denied`; replays answer 200. The deny scenario",
        "is an Etsy draft listing (the policy denies Etsy); the others are signed webhooks.",
        "",
        "## Pre-trade check",
        "",
        "`POST /api/v1/trading/accounts/{id}/orders/check` on one paper account with limits it",
        "never reaches, measured in the same rounds as the floors above. Every check is a new",
        "`client_order_id`, so every one is allowed and reserves: all of them wait for the",
        "account's one day row, under lock (the worst case). The replay repeats one",
        "`client_order_id` (the stored answer, no lock). The trading same-work floor",
        "(`/bench/trading-same-work/<id>` in `tests/perf/bench_urls.py`) does only what an",
        "allowed check cannot skip: lock the day row, update its counters in SQL, insert the",
        "decision; no authentication, schema, rules or hashing.",
        "",
        "| scenario | req/s | p50 ms | p99 ms | x DRF floor | x trading same-work floor "
        "| non-2xx |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for scenario, label in (
        ("trading_same_work", "trading same-work view: lock, update, insert (floor)"),
        ("check", "check, allowed (a new client_order_id each)"),
        ("check_replay", "check, replayed client_order_id"),
    ):
        if not any(scenario in r for r in rounds):
            continue
        to_drf = ratio_of(rounds, scenario, "drf_floor")
        to_same = ratio_of(rounds, scenario, "trading_same_work")
        non_2xx = sum(r[scenario]["codes"].get("non_2xx", 0) for r in rounds)
        lines.append(
            f"| {label} | {median_of(rounds, scenario, 'rps'):.0f} "
            f"| {median_of(rounds, scenario, 'p50'):.1f} "
            f"| {median_of(rounds, scenario, 'p99'):.1f} | {to_drf:.2f} | {to_same:.2f} "
            f"| {non_2xx} |"
        )
    lines += [
        "",
        "## Claim phase",
        "",
        "`POST /api/v1/runs/{id}/claim` (the next executable phase; one claimer wins), the "
        f"requests going round runs of independent phases ({phase['phases']} phases in all):",
        "",
        "| req/s | p50 ms | p99 ms | phases claimed | non-2xx |",
        "|---:|---:|---:|---:|---:|",
        f"| {phase['rps']:.0f} | {phase['p50']:.1f} | {phase['p99']:.1f} | {phase['claimed']} "
        f"| {phase['codes']['non_2xx']} |",
        "",
        "A claim with nothing ready left answers 204 (counted in req/s, not as claimed).",
        "",
        "## Claim of an agent-mode action",
        "",
        f"{claim['ids']} actions proposed in agent mode "
        f"({claim['propose_agent_mode']['rps']:.0f} req/s, p99 "
        f"{claim['propose_agent_mode']['p99']:.1f} ms), then each claimed once with "
        "`POST /api/v1/actions/{id}/claim` (single claim, payload-hash and approval re-check, "
        "lease):",
        "",
        "| req/s | p50 ms | p99 ms | non-2xx | requests |",
        "|---:|---:|---:|---:|---:|",
        f"| {claim['claim']['rps']:.0f} | {claim['claim']['p50']:.1f} | "
        f"{claim['claim']['p99']:.1f} | {claim['claim']['codes']['non_2xx']} | "
        f"{claim['claim']['requests']} |",
        "",
        "A request past the last id claims an already-claimed action again and is counted as",
        "non-2xx (409 `not_claimable`).",
        "",
    ]
    lp = data["long_poll"]
    lines += [
        "## Approval long-poll wake-up",
        "",
        "An agent waits on `GET /api/v1/actions/{id}?wait=30` for a Shopify product (the policy",
        "asks a human); an operator approves through the service; measured from the decision's",
        "commit to the agent's answer, one approval at a time.",
        "",
        "| samples | p50 ms | p99 ms | max ms | answered only at the 30 s timeout |",
        "|---:|---:|---:|---:|---:|",
        f"| {lp['samples']}/{lp['asked']} | {lp['p50']:.1f} | {lp['p99']:.1f} | {lp['max']:.1f} "
        f"| {lp.get('timed_out', 0)} |",
        "",
        "An answer only at the timeout means the agent was not woken: either the announcement",
        "was missed, or (on an overloaded machine) its first read came after the decision, so",
        "it waited for the next change. The agent gets a 1 s head start to rule out the second.",
        "",
        "## Worker throughput",
        "",
        "Approved webhook actions wait in the outbox; then the relay and one django-q2 cluster",
        "(ORM broker) with N worker processes start, and they are executed against the fake",
        "provider. Actions/second from the first `executing` to the last `succeeded` event; the",
        "wait is from approval (or the workers' start, if later) to `succeeded`. The project's",
        "webhook call budget (`AUTOPACK_RATE_LIMIT_WEBHOOK`, 600 a minute by default: at most",
        "10 calls/s, whatever the workers could do) is raised for this run; every call still",
        "takes its slot from it in SQL. Where a worker's time goes: the profile of a worker",
        "executing an approved webhook action, at the end.",
        "",
        "| workers | actions | succeeded | actions/s | p50 wait ms | p99 wait ms |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for w in data["workers"]:
        lines.append(
            f"| {w['workers']} | {w['actions']} | {w['succeeded']} | {w['per_second']:.1f} "
            f"| {w['p50_ms']:.0f} | {w['p99_ms']:.0f} |"
        )
    admin = data["admin"]
    lines += [
        "",
        f"## Admin pages with {admin['rows']:,} approval requests and {admin['rows']:,} actions",
        "",
        "Rendered in-process by Django's test client as a staff operator of the project, with its",
        "second factor verified (median of 5 requests; queries counted on the last).",
        "",
        "| page | ms | queries | HTTP |",
        "|---|---:|---:|---:|",
    ]
    for label, page in admin["pages"].items():
        lines.append(
            f"| {label} (`{page['url']}`) | {page['ms']:.0f} | {page['queries']} "
            f"| {page['status']} |"
        )
    c = data["chaos"]
    lines += [
        "",
        "## Chaos",
        "",
        f"{c['executions']} webhook executions while the two django-q2 clusters and the outbox "
        "relay were SIGKILLed and restarted at random "
        f"({', '.join(f'{k} {v}x' for k, v in sorted(c['kills'].items()))}), and the fake "
        "provider answered "
        f"{c['faults']['500']} with 500, {c['faults']['slow (past the call timeout)']} past the "
        f"call timeout and dropped {c['faults']['drop after work']} after doing the work.",
        "",
        "| | |",
        "|---|---|",
        f"| duplicates at the provider (must be 0) | **{c['duplicates']}** |",
        f"| lost actions (must be 0) | **{c['lost']}** |",
        f"| not settled when the run gave up (still in progress) | **{c['unsettled']}** |",
        f"| ended through reconciliation (left `unknown`) | {c['reconciled']} |",
        f"| final statuses | {', '.join(f'{k} {v}' for k, v in sorted(c['statuses'].items()))} |",
        f"| deliveries received | {c['deliveries']} |",
        f"| succeeded without a delivery at the provider | {c['succeeded_without_delivery']} |",
        "",
        "A webhook receiver cannot be asked whether a delivery arrived, so an unknown outcome",
        "(timeout, dropped connection, killed worker) ends in `needs_reconciliation` for an",
        "operator, never in a second call; a 500 from a provider that does not deduplicate is a",
        "failure, not a retry.",
        "",
    ]
    inv = data["invariants"]
    seen = inv["seen"]
    steps_run = seen.get("states checked", 0) - seen.get("examples", 0)
    happened = ", ".join(
        f"{name} {count}"
        for name, count in sorted(seen.items())
        if name not in ("states checked", "examples")
    )
    lines += [
        "## Governance invariants",
        "",
        "The stateful property test of `ledger/tests/test_governance_invariants.py` (propose,",
        "approve, reject, tamper, expire, revoke the key, the emergency switch and the trading",
        "kill switch, orders under pre-trade checks, execute, crash mid-call, reconcile) against",
        "the real services on PostgreSQL and the fake provider, every invariant checked after",
        f"every step; a longer search than CI's ({inv['examples']} examples of up to",
        f"{inv['max_steps']} steps).",
        "",
        "| | |",
        "|---|---|",
        f"| result | **{'held' if inv['held'] else 'VIOLATED'}** |",
        f"| examples | {seen.get('examples', 0)} |",
        f"| steps survived (each followed by every invariant) | {steps_run} |",
        f"| time | {inv['seconds']:.0f} s |",
        f"| what the steps led to | {happened or '(nothing recorded)'} |",
        "",
    ]
    if not inv["held"]:
        lines += ["```", inv["output"], "```", ""]
    for name, profiled in data.get("profile", {}).items():
        lines += [
            f"## Profile: {name} (in-process, cProfile)",
            "",
            f"{profiled['ms_per_request']:.1f} ms per request through the whole Django stack in",
            "one process under cProfile (which slows it down; compare the shares, not the totals).",
            f"One request's {len(profiled['statements'])} SQL statements "
            f"({profiled['floor_note']}):",
            "",
            "```",
            *profiled["statements"],
            "```",
            "",
            "Our code, by cumulative time:",
            "",
            "```",
            profiled["ours"],
            "```",
            "",
            "Everything, by own time:",
            "",
            "```",
            profiled["overall"],
            "```",
            "",
        ]
    return "\n".join(lines)


def targets(data: dict) -> list[tuple[str, str, str]]:
    rounds = data["http"]["rounds"]
    rows = []
    for label, scenario, floor, floor_label in (
        ("allow", "allow", "same_work", "same-work floor"),
        ("replay", "replay", "drf_floor", "minimal DRF floor"),
        ("pre-trade check", "check", "trading_same_work", "trading same-work floor"),
        ("pre-trade check replay", "check_replay", "drf_floor", "minimal DRF floor"),
    ):
        target = TARGETS[f"{scenario}_vs_{floor}"]
        ratio = ratio_of(rounds, scenario, floor)
        rows.append(
            (
                f"{label} ≥ {target} x {floor_label}",
                f"{ratio:.2f}",
                verdict(ratio, target, at_least=True),
            )
        )
    for scenario, label in (
        ("allow", "allow"),
        ("replay", "replay"),
        ("check", "pre-trade check"),
        ("check_replay", "pre-trade check replay"),
    ):
        p99 = median_of(rounds, scenario, "p99")
        rows.append(
            (
                f"{label} p99 < {TARGETS['p99_ms']:.0f} ms at {CONNECTIONS} connections",
                f"{p99:.1f} ms",
                verdict(p99, TARGETS["p99_ms"], at_least=False),
            )
        )
    lp = data["long_poll"]["p99"]
    rows.append(
        (
            f"long-poll wake-up p99 < {TARGETS['long_poll_p99_ms']:.0f} ms",
            f"{lp:.1f} ms",
            verdict(lp, TARGETS["long_poll_p99_ms"], at_least=False),
        )
    )
    two = next((w["per_second"] for w in data["workers"] if w["workers"] == 2), float("nan"))
    rows.append(
        (
            f"worker ≥ {TARGETS['worker_two_per_second']:.0f} actions/s with two workers",
            f"{two:.1f} actions/s",
            verdict(two, TARGETS["worker_two_per_second"], at_least=True),
        )
    )
    c = data["chaos"]
    rows.append(
        (
            f"chaos: 0 duplicates and 0 lost over {c['executions']} executions",
            f"{c['duplicates']} duplicates, {c['lost']} lost, {c['unsettled']} unsettled",
            "**met**"
            if c["duplicates"] == 0 and c["lost"] == 0 and c["unsettled"] == 0
            else "**missed**",
        )
    )
    inv = data["invariants"]
    steps_run = inv["seen"].get("states checked", 0) - inv["seen"].get("examples", 0)
    rows.append(
        (
            f"governance invariants hold over {inv['examples']} examples",
            f"{'held' if inv['held'] else 'violated'} over {steps_run} steps",
            "**met**" if inv["held"] and steps_run > 0 else "**missed**",
        )
    )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few s per scenario")
    parser.add_argument("--output", default=str(ROOT / "docs" / "performance.md"))
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--rounds", type=int)
    args = parser.parse_args()
    # a terminated run still stops the servers and workers it started (the finally blocks)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args.seconds = args.seconds or (2 if args.quick else 8)
    args.rounds = args.rounds or (1 if args.quick else 3)
    sizes = {
        "long_poll": 10 if args.quick else 100,
        "worker": 40 if args.quick else 1000,
        "admin_rows": 2000 if args.quick else 100_000,
        "chaos": 30 if args.quick else 500,
        "invariants": (20, 30) if args.quick else (150, 50),  # examples, steps at most (CI: 20, 30)
    }
    if not shutil.which("wrk"):
        print("wrk is needed for the HTTP load: apt-get install wrk", file=sys.stderr)
        return 2
    data: dict = {"quick": args.quick, "machine": machine(), "seconds": args.seconds}
    say(f"machine: {data['machine']}")
    pgbench, data["pgbench_note"] = pgbench_path()

    from ledger.fakeprovider.server import FakeProviderServer

    fake = FakeProviderServer(port=0).start()
    port = free_port()
    workers = gunicorn_workers()
    data["gunicorn_workers"] = workers
    env = bench_env(
        DB_URL,
        AUTOPACK_OUTBOUND_ALLOW=fake.url,
        Q_LOG_LEVEL="ERROR",
        # the provider call budget is a deliberate throttle (600 webhook calls a minute by
        # default), not the workers' capacity: counted, never reached, in this run
        AUTOPACK_RATE_LIMIT_WEBHOOK="1000000000",
        # short leases and timeouts, as in tests/cluster, for this process (whose sweeps settle
        # the chaos loop) and every process it starts alike
        **CHAOS_TIMINGS,
        **{
            f"AUTOPACK_PROVIDER_URL_{p}": fake.url
            for p in ("ALPACA", "SHOPIFY", "ETSY", "YOUTUBE", "WEBHOOK")
        },
    )
    env.pop("Q_REDIS_URL", None)
    say(f"database {DB_URL.rsplit('/', 1)[1]}: creating and migrating")
    create_database(DB_URL, env)
    setup_django(env)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        data["postgres"] = cursor.fetchone()[0]
    seeded = seed(fake.url)
    env.update(seeded["secrets"])
    server = gunicorn(env, port, workers)
    try:
        data["http"] = http_rounds(port, seeded, fake.url, args, pgbench)
        data["phase_claim"] = phase_claims(
            port,
            seeded["key"],
            seeded["project"],
            runs=10 if args.quick else 100,
            phases=10 if args.quick else 20,
            seconds=args.seconds,
        )
        data["claim"] = claim_phase(port, seeded["key"], fake.url, args)
        data["long_poll"] = long_poll(port, seeded["key"], seeded["operator"], sizes["long_poll"])
    finally:
        stop(server)
    profiled = 30 if args.quick else 300
    data["profile"] = {
        **profile_proposals(seeded["key"], fake.url, profiled),
        **profile_checks(seeded["key"], seeded["trading"]["check"], profiled),
    }
    retire_http_leftovers()
    data["workers"] = [
        worker_throughput(env, seeded, fake.url, sizes["worker"], workers=n) for n in (1, 2)
    ]
    data["chaos"] = chaos(env, seeded, fake, sizes["chaos"], seed_value=20261126)
    data["profile"].update(profile_execution(seeded, fake.url, profiled))
    data["admin"] = admin_pages(sizes["admin_rows"])
    fake.stop()
    data["invariants"] = invariants(*sizes["invariants"])
    data["targets"] = targets(data)
    data["finished"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    data["duration"] = time.monotonic() - STARTED
    output = Path(args.output)
    output.write_text(render(data))
    say(f"wrote {output}")
    for row in data["targets"]:
        say(f"  {row[0]}: {row[1]} — {row[2].replace('*', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
