from decimal import Decimal

from runs.models import Attempt, Run, UsageEvent


def usage_record(
    *,
    run: Run,
    provider: str,
    model: str,
    tokens_in: int,
    tokens_out: int,
    cost_usd: Decimal,
    attempt: Attempt | None = None,
) -> UsageEvent:
    return UsageEvent.objects.create(
        run=run,
        attempt=attempt,
        provider=provider,
        model=model,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost_usd=cost_usd,
    )
