from django.urls import path

from accounts.api import views
from smartweb.api.routers import Router

router = Router(trailing_slash=True)
router.include_root_view = False
router.register("auth/tokens", views.TokenViewSet, basename="token")
router.register("me/sessions", views.SessionViewSet, basename="session")
router.register("organizations", views.OrganizationViewSet, basename="organization")
router.register("users", views.UserViewSet, basename="user")
router.register("memberships", views.MembershipViewSet, basename="membership")
router.register("invitations", views.InvitationViewSet, basename="invitation")
router.register("teams", views.TeamViewSet, basename="team")
router.register("roles", views.RoleViewSet, basename="role")
router.register("audit-logs", views.AuditLogViewSet, basename="auditlog")

urlpatterns = [
    path("auth/token/", views.TokenObtainView.as_view(), name="token-obtain"),
    path("auth/token/revoke/", views.TokenRevokeView.as_view(), name="token-revoke"),
    path("me/", views.MeView.as_view(), name="me"),
    path("me/password/", views.PasswordChangeView.as_view(), name="me-password"),
    path("invitations/accept/", views.InvitationAcceptView.as_view(), name="invitation-accept-api"),
    *router.urls,
]
