from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from autopack_site.api.views import HealthView, MeView
from autopack_site.errors import json_404

api_v1 = [
    path("health", HealthView.as_view(), name="health"),
    path("me", MeView.as_view(), name="me"),
    path("", include("runs.urls")),
    path("", include("policies.urls")),
    path("", include("approvals.urls")),
    path("", include("ledger.urls")),
    path("", include("artifacts.urls")),
    path("", include("publishing.urls")),
    path("", include("trading.urls")),
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
    # Last: any other /api/ path is a JSON 404 in every mode (DEBUG's page is HTML).
    re_path(r"^api/", csrf_exempt(json_404), name="api-not-found"),
]

handler404 = "autopack_site.errors.handler404"
handler500 = "autopack_site.errors.handler500"
