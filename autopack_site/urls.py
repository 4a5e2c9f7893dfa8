from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from autopack_site.api.views import HealthView, MeView

api_v1 = [
    path("health", HealthView.as_view(), name="health"),
    path("me", MeView.as_view(), name="me"),
    path("", include("runs.urls")),
    path("", include("policies.urls")),
    path("", include("approvals.urls")),
    path("", include("ledger.urls")),
]

urlpatterns = [
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # the split view serves Swagger UI's init script from a URL: no inline script under the CSP
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="schema", template_name="autopack/swagger_ui.html"
        ),
        name="swagger-ui",
    ),
    path("admin/", admin.site.urls),
]

handler404 = "autopack_site.errors.handler404"
handler500 = "autopack_site.errors.handler500"
