from django.urls import path

from artifacts import api

urlpatterns = [
    path("runs/<id:run_pk>/artifacts", api.RunArtifactsView.as_view(), name="run-artifacts"),
    path(
        "artifacts/<id:artifact_pk>/download",
        api.ArtifactDownloadView.as_view(),
        name="artifact-download",
    ),
]

urlpatterns += [
    path(
        "runs/<id:run_pk>/handoff/context",
        api.RunHandoffContextView.as_view(),
        name="run-handoff-context",
    ),
    path(
        "runs/<id:run_pk>/handoffs/briefs",
        api.RunHandoffBriefsView.as_view(),
        name="run-handoff-briefs",
    ),
    path("runs/<id:run_pk>/handoffs", api.RunHandoffsView.as_view(), name="run-handoffs"),
    path("handoffs/<id:handoff_pk>", api.HandoffDetailView.as_view(), name="handoff-detail"),
]
