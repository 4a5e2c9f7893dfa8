"""The trading state machines: the account's state, its kill switch, and each order decision.

The account and its kill switch write their events as RiskEvents (with the limits as they
were); order decisions write OrderEvents."""

from autopack_site.state_machine import StateMachine
from trading.models import AccountStatus as A
from trading.models import DecisionStatus as D
from trading.models import (
    KillSwitch,
    OrderDecision,
    OrderEvent,
    RiskEvent,
    TradingAccount,
)
from trading.models import SwitchStatus as K

ACCOUNT = StateMachine(
    model=TradingAccount,
    label="trading account",
    transitions={
        A.ACTIVE: {A.REDUCING, A.HALTED},
        A.REDUCING: {A.ACTIVE, A.HALTED},
        A.HALTED: {A.ACTIVE, A.REDUCING},
    },
    initial={A.ACTIVE},
    event_model=RiskEvent,
    event_owner=lambda account: {"account": account, "kind": RiskEvent.Kind.STATE},
)

KILL_SWITCH = StateMachine(
    model=KillSwitch,
    label="kill switch",
    transitions={K.RELEASED: {K.ENGAGED}, K.ENGAGED: {K.RELEASED}},
    initial={K.RELEASED, K.ENGAGED},
    event_model=RiskEvent,
    event_owner=lambda switch: {"account": switch.account, "kind": RiskEvent.Kind.KILL_SWITCH},
)

_OPEN = {D.SUBMITTED, D.PARTIALLY_FILLED, D.FILLED, D.CANCELLED, D.REJECTED, D.EXPIRED}

DECISION = StateMachine(
    model=OrderDecision,
    label="order decision",
    transitions={
        D.DENIED: set(),
        D.RESERVED: _OPEN,
        D.SUBMITTED: _OPEN - {D.SUBMITTED},
        D.PARTIALLY_FILLED: {D.PARTIALLY_FILLED, D.FILLED, D.CANCELLED, D.EXPIRED},
        D.FILLED: set(),
        D.CANCELLED: set(),
        D.REJECTED: set(),
        D.EXPIRED: set(),
    },
    initial={D.DENIED, D.RESERVED},
    event_model=OrderEvent,
    event_owner=lambda decision: {"decision_id": decision.pk},
)
