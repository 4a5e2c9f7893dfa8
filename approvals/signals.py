"""Sent after commit whenever an approval request changes status, so other apps (the ledger)
can follow their requests without approvals knowing about them."""

from django.dispatch import Signal

# kwargs: request_id, kind, target_ref, status
approval_status_changed = Signal()
