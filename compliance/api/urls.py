"""Routes of the compliance API. The lead routes extend the leads router's
`leads/{id}/` (which has no `export`, `erase` or `consents` action of its own)."""

from django.urls import path

from compliance.api import views

urlpatterns = [
    path("leads/<uuid:pk>/export/", views.SubjectExportView.as_view(), name="lead-export-subject"),
    path("leads/<uuid:pk>/erase/", views.SubjectErasureView.as_view(), name="lead-erase-subject"),
    path("leads/<uuid:pk>/consents/", views.ConsentRecordListView.as_view(), name="lead-consents"),
    path(
        "compliance/requests/",
        views.SubjectRequestListView.as_view(),
        name="subject-request-list",
    ),
    path(
        "compliance/requests/<uuid:pk>/",
        views.SubjectRequestDetailView.as_view(),
        name="subject-request-detail",
    ),
    path(
        "compliance/requests/<uuid:pk>/history/",
        views.SubjectRequestHistoryView.as_view(),
        name="subject-request-history",
    ),
]
