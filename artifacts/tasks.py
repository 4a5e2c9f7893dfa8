"""django-q2 entry points for artifacts: thin, idempotent."""


def artifacts_sweep_expired() -> dict[str, int]:
    from artifacts.services.retention import artifacts_sweep_expired as sweep

    return sweep()
