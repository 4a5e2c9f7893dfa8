"""The floors next to the product's URLs: a minimal DRF view doing one INSERT; the same-work
floor, a hand-written view doing only the durable work an allowed proposal cannot skip
(tests/perf/report.py); and the risk gate's same-work floor, a minimal view that only locks and
updates the account's day row and inserts the decision (tests/perf/report.py's pre-trade check
section and tests/perf/bench_trading_check.py)."""

import hmac
import json
import secrets
import uuid
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F
from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

# What the same-work floor copies: the rows one real allowed proposal wrote (the report makes it
# first, with this Idempotency-Key), column by column, with the real tables and indexes.
TEMPLATE_KEY = "same-work-template"


class FloorInsert(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    def post(self, request):
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_floor (body) VALUES (%s) RETURNING id", [request.body.decode()]
            )
            row_id = cursor.fetchone()[0]
        return Response({"id": row_id}, status=201)


class TradingSameWork(APIView):
    """What a check cannot do without: lock the day row, update its counters in SQL, insert
    the decision. No authentication, parsing into the strict schema, rules or hashing."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    def post(self, request, account_id: int):
        from trading.models import AccountDay, OrderDecision

        body = json.loads(request.body or b"{}")
        with transaction.atomic():
            day = AccountDay.objects.select_for_update().get(account_id=account_id)
            AccountDay.objects.filter(pk=day.pk).update(
                orders_today=F("orders_today") + 1,
                reserved_value=F("reserved_value") + Decimal("100"),
            )
            decision = OrderDecision.objects.create(
                project_id=body["project"],
                account_id=account_id,
                client_order_id=body.get("client_order_id") or uuid.uuid4().hex,
                request_hash="0" * 64,
                symbol="AAPL",
                side="buy",
                qty=Decimal("1"),
                order_type="market",
                reference_price=Decimal("100"),
                strategy_version="s1",
                order_value=Decimal("100"),
                allowed=True,
                effective_mode="paper",
                status="reserved",
                reserved_value=Decimal("100"),
            )
        return Response({"allowed": True, "decision_id": decision.pk})


class _Insert:
    """INSERT INTO table (every column but the serial id) VALUES (the template row's values as
    text, cast back to their types; timestamps now(); ``overrides`` as parameters)."""

    def __init__(
        self,
        cursor,
        table: str,
        where: str,
        params: list,
        overrides: tuple[str, ...],
        returning: bool = False,
    ):
        cursor.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            [table],
        )
        columns = [(name, kind) for name, kind in cursor.fetchall() if name != "id"]
        select = ", ".join(f'"{name}"::text' for name, _ in columns)
        cursor.execute(f'SELECT {select} FROM "{table}" WHERE {where}', params)
        row = cursor.fetchone()
        if row is None:
            raise LookupError(f"no template row in {table}")
        self.overrides = overrides
        self.fixed: list = []
        values = []
        for (name, kind), value in zip(columns, row, strict=True):
            if name in overrides:
                values.append(f"%({name})s::{kind}")
            elif kind.startswith("timestamp") and value is not None:
                values.append("now()")
            else:
                values.append(f"%(c{len(self.fixed)})s::{kind}")
                self.fixed.append(value)
        names = ", ".join(f'"{name}"' for name, _ in columns)
        tail = " RETURNING id" if returning else ""
        self.sql = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join(values)}){tail}'

    def run(self, cursor, **overrides):
        params = {f"c{index}": value for index, value in enumerate(self.fixed)}
        params.update(overrides)
        cursor.execute(self.sql, params)


class SameWork(APIView):
    """The key lookup, the one read (is this Idempotency-Key taken?), and in one transaction the
    inserts an allowed proposal makes: the action, its first event, the decision-log row, the
    outbox row that queues its execution, and the stored answer. No validation, no decision, no
    rendering."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    prepared: dict | None = None

    @classmethod
    def _prepare(cls, cursor) -> dict:
        from autopack_site.models import AgentKey, OutboxMessage
        from ledger.models import ActionAnswer, ActionEvent, ExternalAction
        from policies.models import DecisionLog

        actions = ExternalAction._meta.db_table
        cursor.execute(f'SELECT id FROM "{actions}" WHERE idempotency_key = %s', [TEMPLATE_KEY])
        (action_id,) = cursor.fetchone()
        logs = DecisionLog._meta.db_table
        return {
            "keys": AgentKey._meta.db_table,
            "actions": actions,
            "action": _Insert(
                cursor,
                actions,
                "id = %s",
                [action_id],
                ("idempotency_key", "reference"),
                returning=True,
            ),
            "event": _Insert(
                cursor, ActionEvent._meta.db_table, "action_id = %s", [action_id], ("action_id",)
            ),
            "log": _Insert(cursor, logs, f'id = (SELECT max(id) FROM "{logs}")', [], ()),
            "outbox": _Insert(
                cursor,
                OutboxMessage._meta.db_table,
                "args = jsonb_build_array(%s::int)",
                [action_id],
                ("args",),
            ),
            "answer": _Insert(
                cursor, ActionAnswer._meta.db_table, "action_id = %s", [action_id], ("action_id",)
            ),
        }

    def post(self, request):
        from autopack_site.keys import hash_key

        with connection.cursor() as cursor:
            if SameWork.prepared is None:
                SameWork.prepared = self._prepare(cursor)
            work = SameWork.prepared
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            prefix = token.split("_")[1] if token.count("_") >= 2 else ""
            cursor.execute(
                f'SELECT id, project_id, key_hash FROM "{work["keys"]}" '
                "WHERE prefix = %s AND revoked_at IS NULL",
                [prefix],
            )
            key = cursor.fetchone()
            if key is None or not hmac.compare_digest(hash_key(token), key[2]):
                return Response({"error": "unknown key"}, status=401)
            idempotency_key = request.headers.get("Idempotency-Key", "")
            cursor.execute(
                f'SELECT id FROM "{work["actions"]}" '
                "WHERE project_id = %s AND idempotency_key = %s",
                [key[1], idempotency_key],
            )
            if cursor.fetchone() is not None:
                return Response({"replayed": True}, status=200)
            with transaction.atomic():
                work["action"].run(
                    cursor,
                    idempotency_key=idempotency_key,
                    reference=f"ap-{secrets.token_hex(10)}",
                )
                (action_id,) = cursor.fetchone()
                work["event"].run(cursor, action_id=action_id)
                work["log"].run(cursor)
                work["outbox"].run(cursor, args=f"[{action_id}]")
                work["answer"].run(cursor, action_id=action_id)
        return Response({"id": action_id}, status=201)


urlpatterns = [
    path("bench/floor", FloorInsert.as_view()),
    path("bench/trading-same-work/<int:account_id>", TradingSameWork.as_view()),
    path("bench/same-work", SameWork.as_view()),
    path("", include("autopack_site.urls")),
]
