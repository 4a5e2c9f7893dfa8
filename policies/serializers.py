def decision_out_fields(decision: dict) -> dict:
    """The engine's decision dict → PolicyDecisionOut's fields (extras go under details)."""
    known = {"outcome", "policy_version", "reasons", "matched_rules", "risk", "hint"}
    return {
        **{key: decision.get(key) for key in known},
        "overridden_rules": decision.get("overridden_rules", []),
        "details": {
            key: value
            for key, value in decision.items()
            if key not in known and key != "overridden_rules"
        },
    }
