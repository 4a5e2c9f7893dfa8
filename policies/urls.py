from django.urls import path

from policies import api

urlpatterns = [
    path("policy/evaluate", api.PolicyEvaluateView.as_view(), name="policy-evaluate"),
]
