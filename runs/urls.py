from django.urls import path

from runs import api

urlpatterns = [
    path("runs", api.RunsView.as_view(), name="runs"),
    path("runs/<id:run_pk>", api.RunDetailView.as_view(), name="run-detail"),
    path("runs/<id:run_pk>/claim", api.RunClaimView.as_view(), name="run-claim"),
    path("runs/<id:run_pk>/usage", api.RunUsageView.as_view(), name="run-usage"),
    path("runs/<id:run_pk>/patches", api.RunPatchesView.as_view(), name="run-patches"),
    path("runs/<id:run_pk>/export", api.RunExportView.as_view(), name="run-export"),
    path(
        "attempts/<id:attempt_pk>/complete",
        api.AttemptCompleteView.as_view(),
        name="attempt-complete",
    ),
    path(
        "attempts/<id:attempt_pk>/heartbeat",
        api.AttemptHeartbeatView.as_view(),
        name="attempt-heartbeat",
    ),
    path(
        "attempts/<id:attempt_pk>/checkpoint",
        api.AttemptCheckpointView.as_view(),
        name="attempt-checkpoint",
    ),
]
