from django.urls import path

from ledger import api

urlpatterns = [
    path("actions", api.ActionsView.as_view(), name="actions"),
    path("actions/export", api.ActionsExportView.as_view(), name="actions-export"),
    path("actions/<id:action_pk>", api.ActionDetailView.as_view(), name="action-detail"),
    path("actions/<id:action_pk>/claim", api.ActionClaimView.as_view(), name="action-claim"),
    path("actions/<id:action_pk>/result", api.ActionResultView.as_view(), name="action-result"),
    path("providers", api.ProvidersView.as_view(), name="providers"),
    path("credentials/health", api.CredentialsHealthView.as_view(), name="credentials-health"),
]
