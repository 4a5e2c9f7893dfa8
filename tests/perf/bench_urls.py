"""The framework floor: a minimal DRF view doing one INSERT, next to the product's URLs."""

from django.db import connection
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


urlpatterns = [
    path("bench/floor", FloorInsert.as_view()),
    path("", include("autopack_site.urls")),
]
