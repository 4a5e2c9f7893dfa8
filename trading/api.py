"""Agents ask the risk gate before every order, report what became of it, report equity, post
strategy versions, and may engage (never release) the kill switch."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response

from autopack_site.api.base import ProjectScopedAPIView
from autopack_site.api.openapi import ERROR_RESPONSES, error_response
from trading import selectors, services
from trading.models import SwitchStatus
from trading.schemas import (
    AccountOut,
    AccountsOut,
    EquityIn,
    KillSwitchIn,
    KillSwitchOut,
    OrderCheckIn,
    OrderCheckOut,
    OrderReportIn,
    StrategyIn,
    StrategyOut,
)
from trading.serializers import _s, account_out, decision_out
from trading.services.checks import OrderRequest, order_preview


class TradingView(ProjectScopedAPIView):
    read_scopes = ("read",)
    write_scopes = ("trading:write",)

    def account(self, account_pk: int):
        return self.get_scoped(selectors.account_get, "trading account", pk=account_pk)

    def account_ref(self, account_pk: int):
        return self.get_scoped(selectors.account_ref, "trading account", pk=account_pk)


def _order_request(body: OrderCheckIn) -> OrderRequest:
    return OrderRequest(**body.model_dump())


class AccountsView(TradingView):
    @extend_schema(
        operation_id="trading_accounts_list", responses={200: AccountsOut, **ERROR_RESPONSES}
    )
    def get(self, request):
        accounts = selectors.accounts_for_project(project=self.project)
        return Response(
            AccountsOut(accounts=[account_out(a) for a in accounts]).model_dump(mode="json")
        )


class AccountDetailView(TradingView):
    @extend_schema(
        operation_id="trading_accounts_get", responses={200: AccountOut, **ERROR_RESPONSES}
    )
    def get(self, request, account_pk: int):
        return Response(account_out(self.account(account_pk)).model_dump(mode="json"))


class OrderCheckView(TradingView):
    @extend_schema(
        operation_id="trading_orders_check",
        request=OrderCheckIn,
        responses={
            200: OpenApiResponse(
                OrderCheckOut,
                description="allowed: true (capacity reserved) or allowed: false with reasons.",
            ),
            **ERROR_RESPONSES,
            422: error_response("client_order_id_reused: the same id with other parameters."),
        },
    )
    def post(self, request, account_pk: int):
        account = self.account_ref(account_pk)
        body = self.parse_body(OrderCheckIn)
        decision, replayed = services.order_check(
            account=account,
            request=_order_request(body),
            key=self.agent_key,
            actor=self.agent_key.actor_label,
        )
        return Response(decision_out(decision, replayed=replayed).model_dump(mode="json"))


class OrderPreviewView(TradingView):
    @extend_schema(
        operation_id="trading_orders_preview",
        request=OrderCheckIn,
        responses={200: OrderCheckOut, **ERROR_RESPONSES},
    )
    def post(self, request, account_pk: int):
        account = self.account(account_pk)
        body = self.parse_body(OrderCheckIn)
        order = _order_request(body)
        result = order_preview(account=account, request=order)
        return Response(
            OrderCheckOut(
                allowed=not result.reasons,
                decision_id=None,
                client_order_id=order.client_order_id,
                effective_mode=result.effective_mode,
                order_value=_s(order.value()),
                status=None,
                reasons=[r.__dict__ for r in result.reasons],
                remaining=result.remaining,
            ).model_dump(mode="json")
        )


class OrderReportView(TradingView):
    @extend_schema(
        operation_id="trading_orders_report",
        request=OrderReportIn,
        responses={
            200: OrderCheckOut,
            **ERROR_RESPONSES,
            409: error_response("order_denied or order_closed."),
        },
    )
    def post(self, request, account_pk: int):
        account = self.account(account_pk)
        body = self.parse_body(OrderReportIn)
        decision = services.order_report(
            account=account,
            client_order_id=body.client_order_id,
            event=body.event,
            filled_qty=body.filled_qty,
            fill_price=body.fill_price,
            actor=self.agent_key.actor_label,
        )
        decision.refresh_from_db()
        return Response(decision_out(decision).model_dump(mode="json"))


class EquityView(TradingView):
    @extend_schema(
        operation_id="trading_equity_report",
        request=EquityIn,
        responses={200: AccountOut, **ERROR_RESPONSES},
    )
    def post(self, request, account_pk: int):
        account = self.account(account_pk)
        body = self.parse_body(EquityIn)
        services.account_equity_report(
            account=account, equity=body.equity, actor=self.agent_key.actor_label
        )
        return Response(account_out(self.account(account_pk)).model_dump(mode="json"))


class KillSwitchView(TradingView):
    @extend_schema(
        operation_id="trading_kill_switch",
        request=KillSwitchIn,
        responses={
            200: KillSwitchOut,
            **ERROR_RESPONSES,
            403: error_response(
                "kill_switch_release_forbidden: only a trading supervisor releases it, in the "
                "admin."
            ),
        },
    )
    def post(self, request, account_pk: int):
        account = self.account(account_pk)
        body = self.parse_body(KillSwitchIn)
        switch = services.kill_switch_set(
            account=account, engaged=body.engaged, reason=body.reason, key=self.agent_key
        )
        switch.refresh_from_db()
        return Response(
            KillSwitchOut(
                engaged=switch.status == SwitchStatus.ENGAGED,
                reason=switch.reason,
                changed_by=switch.changed_by,
            ).model_dump(mode="json")
        )


class StrategiesView(TradingView):
    @extend_schema(
        operation_id="trading_strategies_create",
        request=StrategyIn,
        responses={
            201: StrategyOut,
            200: OpenApiResponse(StrategyOut, description="The same version and content."),
            **ERROR_RESPONSES,
            422: error_response("strategy_version_reused: the version exists with other content."),
        },
    )
    def post(self, request, account_pk: int):
        account = self.account(account_pk)
        body = self.parse_body(StrategyIn)
        strategy, created = services.strategy_version_create(
            account=account,
            version=body.version,
            content=body.content,
            key=self.agent_key,
            actor=self.agent_key.actor_label,
        )
        out = StrategyOut(
            id=strategy.pk,
            version=strategy.version,
            content_hash=strategy.content_hash,
            approved=strategy.approved_at is not None,
            approval_id=strategy.approval_id,
        )
        return Response(out.model_dump(mode="json"), status=201 if created else 200)
