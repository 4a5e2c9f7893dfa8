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
