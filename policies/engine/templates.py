"""The two starting policies: Autopack's own repository, and a downstream project that acts in
the world (publish, list, trade, destroy → a human decides)."""

from policies.engine.spec import ActionRule, Effect, PolicySpec, SafetyProfile


def _rule(index: int, provider: str, action: str, effect: Effect, **extra) -> ActionRule:
    return ActionRule(
        rule_id=f"rule-{index}",
        provider_glob=provider,
        action_glob=action,
        effect=effect,
        **extra,
    )


AUTOPACK_SELF = PolicySpec(
    version=1,
    safety_profile=SafetyProfile.STRICT,
    protected_paths=("docs/", "config/", ".github/", "src/autopack/", "tests/"),
    denied_paths=(".git/", "*.pem", "*.key", ".env"),
    auto_approvable_paths=("src/", "scripts/", "examples/", "README.md"),
    first_run_requires_approval=True,
    action_rules=(
        _rule(1, "*", "*", Effect.REQUIRE_APPROVAL, description="Anything else: ask a human."),
    ),
)

DOWNSTREAM = PolicySpec(
    version=1,
    safety_profile=SafetyProfile.NORMAL,
    protected_paths=(".github/", "config/", "migrations/"),
    denied_paths=(".git/", "*.pem", "*.key", ".env"),
    first_run_requires_approval=False,
    action_rules=(
        _rule(
            1,
            "*",
            "*delete*",
            Effect.REQUIRE_APPROVAL,
            priority=100,
            description="Destructive actions need a human.",
        ),
        _rule(
            2,
            "*",
            "*destroy*",
            Effect.REQUIRE_APPROVAL,
            priority=100,
            description="Destructive actions need a human.",
        ),
        _rule(
            3,
            "youtube",
            "*",
            Effect.REQUIRE_APPROVAL,
            priority=50,
            description="Publishing videos needs a human.",
        ),
        _rule(
            4,
            "etsy",
            "*",
            Effect.REQUIRE_APPROVAL,
            priority=50,
            description="Listing products needs a human.",
        ),
        _rule(
            5,
            "shopify",
            "*",
            Effect.REQUIRE_APPROVAL,
            priority=50,
            description="Listing products needs a human.",
        ),
        _rule(
            6,
            "alpaca",
            "*",
            Effect.REQUIRE_APPROVAL,
            priority=50,
            description="Trades need a human (and the risk gate).",
        ),
        _rule(
            7,
            "webhook",
            "*",
            Effect.ALLOW,
            dry_run_required=True,
            description="Signed webhooks run after a dry run.",
        ),
    ),
)

TEMPLATES = {"autopack": AUTOPACK_SELF, "downstream": DOWNSTREAM}
