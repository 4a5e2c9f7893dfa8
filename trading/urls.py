from django.urls import path

from trading import api

urlpatterns = [
    path("trading/accounts", api.AccountsView.as_view(), name="trading-accounts"),
    path(
        "trading/accounts/<id:account_pk>",
        api.AccountDetailView.as_view(),
        name="trading-account-detail",
    ),
    path(
        "trading/accounts/<id:account_pk>/orders/check",
        api.OrderCheckView.as_view(),
        name="trading-orders-check",
    ),
    path(
        "trading/accounts/<id:account_pk>/orders/preview",
        api.OrderPreviewView.as_view(),
        name="trading-orders-preview",
    ),
    path(
        "trading/accounts/<id:account_pk>/orders/report",
        api.OrderReportView.as_view(),
        name="trading-orders-report",
    ),
    path(
        "trading/accounts/<id:account_pk>/equity",
        api.EquityView.as_view(),
        name="trading-equity",
    ),
    path(
        "trading/accounts/<id:account_pk>/kill-switch",
        api.KillSwitchView.as_view(),
        name="trading-kill-switch",
    ),
    path(
        "trading/accounts/<id:account_pk>/strategies",
        api.StrategiesView.as_view(),
        name="trading-strategies",
    ),
]
