"""Approvals reach the apps that asked for them through this registry, keyed by approval kind.

An app that opens approval requests of a kind (the ledger for "action", trading for its kinds)
registers one `ApprovalConsumer` in its AppConfig.ready(). Approvals knows none of them: after a
status change commits, it hands the registered consumer an `ApprovalNews` (the request, its
typed target id, the new status). A crash between that commit and the handler loses the call;
`approvals_redeliver_lost` (scheduled) asks each consumer what it still waits on and hands those
over again, so handlers must be idempotent (lock their row, re-check, do nothing twice)."""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApprovalNews:
    request_id: int
    kind: str
    target_id: int | None
    status: str


@dataclass(frozen=True)
class ApprovalConsumer:
    kind: str
    # Applies a decided request's status to its target. Idempotent.
    on_status: Callable[[ApprovalNews], None]
    # News the consumer should have had and has not acted on yet (at most ``limit``):
    # targets still waiting on a request that is no longer pending.
    waiting: Callable[[int], Iterable[ApprovalNews]]


_consumers: dict[str, ApprovalConsumer] = {}


def register_consumer(consumer: ApprovalConsumer) -> None:
    existing = _consumers.get(consumer.kind)
    if existing is not None and existing != consumer:
        raise ValueError(f"approval kind {consumer.kind!r} already has a consumer")
    _consumers[consumer.kind] = consumer


def consumer_for(kind: str) -> ApprovalConsumer | None:
    return _consumers.get(kind)


def deliver(news: ApprovalNews) -> bool:
    """Hands ``news`` to its kind's consumer; a failure is logged, never raised: the decision
    is committed and the sweep delivers it again."""
    consumer = _consumers.get(news.kind)
    if consumer is None:
        return False
    try:
        consumer.on_status(news)
    except Exception:
        logger.exception(
            "approval consumer failed; the sweep retries",
            extra={"approval": news.request_id, "kind": news.kind, "status": news.status},
        )
        return False
    return True


def approvals_redeliver_lost(*, limit: int = 100) -> int:
    delivered = 0
    for consumer in list(_consumers.values()):
        for news in consumer.waiting(limit):
            delivered += deliver(news)
    return delivered
