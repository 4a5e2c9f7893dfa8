"""Schemathesis hooks for tests/schema/run_schemathesis.py (loaded via SCHEMATHESIS_HOOKS).

Random ids almost never name a row (test_tenancy.py proves those are 404s), so generated ids
are swapped for rows the runner created (a run, a leased attempt, a pending approval, an
action, a paper trading account): the checks then reach the code behind the 404. Ids outside
1..2^63-1 stay as drawn. Long-polls are kept to one second so the run fits its time budget.
"""

import json
import os

import schemathesis

SEEDED: dict[str, int] = json.loads(os.environ.get("AUTOPACK_SCHEMATHESIS_IDS", "{}"))
MAX_ID = 2**63 - 1


@schemathesis.hook
def map_path_parameters(ctx, path_parameters):
    for name, value in (path_parameters or {}).items():
        valid_id = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID
        if name in SEEDED and valid_id:
            path_parameters[name] = SEEDED[name]
    return path_parameters


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    # Every phase passes here (the coverage phase skips the map_* hooks).
    wait = (case.query or {}).get("wait")
    if isinstance(wait, str) and wait.isdigit():
        wait = int(wait)  # the coverage phase sends query values as text
    if isinstance(wait, int) and not isinstance(wait, bool) and 1 < wait <= 30:
        case.query["wait"] = 1  # still a valid long-poll, one second instead of up to thirty
