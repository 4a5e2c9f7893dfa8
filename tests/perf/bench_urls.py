"""The framework floor: a minimal DRF view doing one INSERT, next to the product's URLs; and
the risk gate's same-work floor: a minimal view that only locks and updates the account's day
row and inserts the decision (tests/perf/bench_trading_check.py)."""

import json
import uuid
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F
from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


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


urlpatterns = [
    path("bench/floor", FloorInsert.as_view()),
    path("bench/trading-same-work/<int:account_id>", TradingSameWork.as_view()),
    path("", include("autopack_site.urls")),
]
