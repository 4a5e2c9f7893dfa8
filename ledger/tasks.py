"""django-q2 entry points for the ledger."""

from ledger import services


def action_execute(action_id: int) -> str:
    return services.action_execute(action_id)


def action_reconcile(action_id: int) -> str:
    return services.action_reconcile(action_id)


def actions_dispatch_due() -> dict:
    return services.actions_dispatch_due()


def actions_release_guarded() -> int:
    return services.actions_release_guarded()
