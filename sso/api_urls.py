from django.urls import path

from sso import api

urlpatterns = [
    path("auth/sso-token/", api.SSOTokenView.as_view(), name="sso-token"),
    path("me/identities/", api.IdentityListView.as_view(), name="identity-list"),
    path("me/identities/<uuid:id>/", api.IdentityUnlinkView.as_view(), name="identity-unlink"),
]
