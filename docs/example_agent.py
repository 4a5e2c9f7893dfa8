"""An example agent: drives a run, asks the policy, submits a patch and proposes an external
action, waiting (long-poll) for an operator where the policy asks for one.

    .venv/bin/python docs/example_agent.py --base-url http://127.0.0.1:8000 --key apk_...

`make run` starts it once against the demo project; its action waits in the admin inbox until
you approve it, then the worker sends it (to the loopback fake provider) and the agent prints
the outcome.
"""

import argparse
import time

from autopack_client import AutopackClient, TimedOut

DIFF = """diff --git a/src/agent/notes.py b/src/agent/notes.py
new file mode 100644
--- /dev/null
+++ b/src/agent/notes.py
@@ -0,0 +1,2 @@
+def notes():
+    return "written by the example agent"
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--key", required=True)
    parser.add_argument("--hook-url", default="http://127.0.0.1:8765/webhook/example-agent")
    parser.add_argument("--run-id", default=f"example-{int(time.time())}")
    args = parser.parse_args()

    with AutopackClient(args.base_url, args.key) as client:
        run = client.create_run(
            "example-agent",
            args.run_id,
            phases=[{"key": "code"}, {"key": "announce", "depends_on": ["code"]}],
            config={"goal": "show governance end to end"},
        )
        print(f"[agent] run {run.id} created")

        attempt = client.claim(run.id, lease_seconds=600)
        patch = client.submit_patch(run.id, DIFF, phase="code", title="Add notes()")
        print(f"[agent] patch {patch.id}: {patch.outcome} — {patch.decision.hint or 'ok'}")
        client.complete(attempt.id, "succeeded")

        attempt = client.claim(run.id, lease_seconds=600)
        decision = client.evaluate_action("webhook", "send")
        print(f"[agent] the policy would say {decision.outcome} for webhook/send")
        payload = {"url": args.hook_url, "event": "run.announced", "data": {"run": run.id}}
        proposed = client.propose("webhook", "send", payload, run=run.id, phase="announce", step=1)
        print(f"[agent] action {proposed.id}: {proposed.status}; waiting for it to finish …")
        while True:  # long-poll, keeping the attempt's lease alive while a human decides
            try:
                done = client.wait_for_action(proposed.id, timeout=25)
                break
            except TimedOut:
                client.heartbeat(attempt.id, lease_seconds=600)
        if done.status == "succeeded":
            print(f"[agent] action {done.id} succeeded (reference {done.provider_reference})")
            client.complete(attempt.id, "succeeded")
        else:
            print(f"[agent] action {done.id} ended {done.status}: {done.error}")
            client.complete(attempt.id, "failed", error_type=done.status)


if __name__ == "__main__":
    main()
