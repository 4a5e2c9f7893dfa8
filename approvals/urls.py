from django.urls import path

from approvals import api

urlpatterns = [
    path("approvals", api.ApprovalsView.as_view(), name="approvals"),
    path("approvals/<id:approval_pk>", api.ApprovalDetailView.as_view(), name="approval-detail"),
]
