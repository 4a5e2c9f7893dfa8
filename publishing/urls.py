from django.urls import path

from publishing import api

urlpatterns = [
    path("publish-packets", api.PacketsView.as_view(), name="publish-packets"),
    path("publish-packets/<id:packet_pk>", api.PacketDetailView.as_view(), name="publish-packet"),
    path(
        "publish-packets/<id:packet_pk>/revisions",
        api.PacketRevisionsView.as_view(),
        name="publish-packet-revisions",
    ),
    path("policy/gates/<slug:provider>", api.GateView.as_view(), name="policy-gate"),
    path("emergency-switch", api.EmergencySwitchView.as_view(), name="emergency-switch"),
]
