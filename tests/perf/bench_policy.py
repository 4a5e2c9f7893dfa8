"""Decision engine benchmark (printed, never asserted).

    .venv/bin/python tests/perf/bench_policy.py

Targets (issue #3): one action decision against 100 rules ≤ 20 µs median; patch governance for
1,000 changed files against 50 patterns ≤ 10 ms. The floor measured in the same run is a bare
dict lookup (actions) and one precompiled regex match per file (patches), so the ratios say
what the engine costs on this machine beyond the cheapest possible work.
"""

import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from policies.engine import (
    ActionRequest,
    ActionRule,
    Effect,
    PolicySpec,
    SafetyProfile,
    compile_policy,
    decide_action,
    decide_patch,
    parse_patch,
)

PROVIDERS = ["youtube", "etsy", "shopify", "alpaca", "webhook"]


def timed(fn, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - started) / 1000)
    return samples


def action_policy():
    rules = []
    for i in range(100):
        provider = PROVIDERS[i % len(PROVIDERS)] if i % 4 else "*"
        effect = [Effect.ALLOW, Effect.REQUIRE_APPROVAL, Effect.DENY][i % 3]
        rules.append(
            ActionRule(
                rule_id=f"rule-{i}",
                provider_glob=provider,
                action_glob=f"op{i % 20}.*" if i % 5 else "*",
                effect=effect,
                priority=i % 7,
                max_amount=Decimal("100") if i % 6 == 0 else None,
                dry_run_required=i % 8 == 0,
            )
        )
    return compile_policy(
        PolicySpec(version=1, safety_profile=SafetyProfile.NORMAL, action_rules=tuple(rules))
    )


def bench_actions() -> None:
    policy = action_policy()
    requests = [
        ActionRequest(
            provider=PROVIDERS[i % 5],
            action=f"op{i % 20}.create",
            amount=Decimal(i % 200),
            dry_run_done=bool(i % 2),
        )
        for i in range(200)
    ]
    for request in requests:  # warm the per-(provider, action) match memo
        decide_action(policy, request)
    index = iter(range(10**9))
    samples = timed(lambda: decide_action(policy, requests[next(index) % 200]), 20_000)
    cold = compile_policy(policy.spec)
    cold_samples = []
    for request in requests[:100]:
        cold_samples += timed(lambda r=request: decide_action(cold, r), 1)
    table = {(r.provider, r.action): r for r in requests}
    keys = list(table)
    floor = timed(lambda: table[keys[next(index) % len(keys)]], 20_000)
    median, floor_median = statistics.median(samples), statistics.median(floor)
    print(
        f"action decision, 100 rules: median {median:.1f} µs, p99 "
        f"{statistics.quantiles(samples, n=100)[98]:.1f} µs (target ≤ 20 µs); "
        f"first decision per (provider, action) {statistics.median(cold_samples):.1f} µs; "
        f"floor (dict lookup) {floor_median:.2f} µs; ratio {median / floor_median:.0f}x"
    )


def big_diff(files: int) -> str:
    parts = []
    for i in range(files):
        top = ["src", "docs", "tests", "config", "lib", "app"][i % 6]
        path = f"{top}/pkg{i % 37}/module_{i}.py"
        parts.append(
            f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n"
            "@@ -1,2 +1,3 @@\n context\n-old\n+new\n+more\n"
        )
    return "".join(parts)


def bench_patches() -> None:
    patterns = [f"{top}/pkg{i}/" for i, top in enumerate(["src", "lib", "app"] * 10)]
    patterns += [f"**/*_{i}.py" for i in range(10)] + [f"docs/sub{i}/" for i in range(10)]
    assert len(patterns) == 50
    policy = compile_policy(
        PolicySpec(
            version=1,
            safety_profile=SafetyProfile.NORMAL,
            protected_paths=tuple(patterns[:20]),
            denied_paths=tuple(patterns[20:30]),
            auto_approvable_paths=tuple(patterns[30:]),
            max_auto_approve_lines=100_000,
        )
    )
    text = big_diff(1000)
    parsed = parse_patch(text)
    decide = timed(lambda: decide_patch(policy, parsed, first_run=False), 30)
    parse = timed(lambda: parse_patch(text), 10)
    regex = policy.protected.regex
    paths = [f.path for f in parsed.files]
    floor = timed(lambda: [regex.match(p) for p in paths], 30)
    median, floor_median = statistics.median(decide), statistics.median(floor)
    print(
        f"patch governance, 1,000 files x 50 patterns: decide median {median / 1000:.2f} ms "
        f"(target ≤ 10 ms); parse (unidiff) median {statistics.median(parse) / 1000:.2f} ms; "
        f"floor (one regex per file) {floor_median / 1000:.2f} ms; "
        f"ratio {median / floor_median:.1f}x"
    )


if __name__ == "__main__":
    bench_actions()
    bench_patches()
