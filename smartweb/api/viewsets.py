"""Base API views: organization context after authentication, permission service on
every queryset and object. A new endpoint subclassing these is secure by default."""

from __future__ import annotations

import functools
import re

import django_filters
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from accounts.models import APIToken
from accounts.tenancy import ORGANIZATION_HEADER, activate_request
from smartweb import access, outage
from smartweb.api import idempotency
from smartweb.api.declared_parameters import refuse_undeclared_parameters
from smartweb.api.errors import PreconditionFailed, PreconditionRequired
from smartweb.api.history import HistoryMixin
from smartweb.api.permissions import HasResourcePermission
from smartweb.rbac import Action
from smartweb.replica import RESPONSE_HEADER, reporting_view
from smartweb.versioning import etag, is_versioned, locked_version, stored_version, version_of

ORGANIZATION_PARAMETER = OpenApiParameter(
    name="X-Organization",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Organization id or slug (default: your default or only membership).",
)

READ_FROM_PARAMETER = OpenApiParameter(
    name=RESPONSE_HEADER,
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "`replica`: the list may come from the read replica, a few seconds behind at most;"
        " the response's X-Read-From says where it came from. Any other value (or none)"
        " reads the primary."
    ),
)


# Changes that must name the version they change when `If-Match` is sent (ADR 0012): these,
# and a POST on one row (a workflow step), see `TenantModelViewSet.changes_own_row`.
CONDITIONAL_METHODS = ("PUT", "PATCH", "DELETE")
SAFE_METHODS = ("GET", "HEAD")


class DeclaredParametersOnly:
    """The query string is checked once DRF has authenticated the request and checked its
    permissions (a user without them is told that first, as before): a parameter the
    operation does not declare is a 400 (ADR 0055), and so is one given more than once
    that takes one value. The base of every view of the API but those whose query strings
    others write (the public form, the providers' callbacks)."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        refuse_undeclared_parameters(request)
        _refuse_repeated_parameters(request, getattr(self, "filterset_class", None))


class OrganizationContextMixin(DeclaredParametersOnly):
    """Sets the organization context right after DRF authenticates the request.

    `resource` (the RBAC resource) defaults to the queryset model's `rbac_resource`.
    Every POST honours `Idempotency-Key`, and an answer that is a versioned row carries
    its `ETag`.
    """

    idempotent_request = None

    @property
    def resource(self) -> str:
        return self.queryset.model.rbac_resource

    def base_queryset(self):
        """A fresh queryset per request. A class-level `queryset` is built at import,
        outside any organization, and the tenant manager has made it empty; only its model
        is used. Override to add select_related/prefetch_related."""
        return self.queryset.model._default_manager.all()

    def perform_authentication(self, request):
        super().perform_authentication(request)
        user = request.user
        if user is not None and user.is_authenticated:
            activate_request(
                request._request,
                user,
                requested=request.META.get(ORGANIZATION_HEADER) or None,
                token=request.auth if isinstance(request.auth, APIToken) else None,
            )

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # A PUT replaces the object: without a body it would be a silent no-op (or a reset).
        if request.method == "PUT" and not request.data:
            raise ValidationError(
                {"non_field_errors": ["A PUT carries the whole object; to change a part, PATCH."]}
            )
        self.idempotent_request = idempotency.claim(request)
        if request.method not in SAFE_METHODS:
            # DRF looks the handler up after `initial`.
            method = request.method.lower()
            if hasattr(self, method):
                setattr(self, method, once_more_on_duplicate(getattr(self, method)))

    def handle_exception(self, exc):
        if isinstance(exc, idempotency.Replay):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if 200 <= response.status_code < 300:
            self._tag_with_version(response)
        if self.idempotent_request is not None and not transaction.get_rollback():
            idempotency.remember(self.idempotent_request, response)
        return response

    def _tag_with_version(self, response) -> None:
        """The `ETag` of the row an answer shows: the viewset's own row (its detail or a
        new one), never another row an action answers with."""
        model = getattr(getattr(self, "queryset", None), "model", None)
        data = getattr(response, "data", None)
        if model is None or not is_versioned(model) or not isinstance(data, dict):
            return
        pk = data.get("id")
        lookup = self.kwargs.get(getattr(self, "lookup_url_kwarg", None) or "pk")
        if pk is None or (str(pk) != str(lookup) and getattr(self, "action", "") != "create"):
            return
        shown = getattr(self, "_shown_row", None)
        if shown is not None and str(shown.pk) == str(pk) and "updated_at" in vars(shown):
            # A read answers the row it read: its version is that row's, without another
            # statement (and without a write committed in between changing it).
            version = version_of(shown.updated_at)
        else:
            version = stored_version(model, pk)
        if version is not None:
            response["ETag"] = etag(version)


# An entity tag as HTTP writes it (RFC 9110, 8.8.3): quoted, optionally weak ("W/").
ENTITY_TAG = re.compile(r'(W/)?"[\x21\x23-\x7e\x80-\xff]*"')
IF_MATCH_FORM = 'Give the ETag the row was read with (quoted, as in "1796579207183074"), or *.'


def if_match_tags(header: str) -> set[str]:
    """The entity tags (or `*`) an `If-Match` header lists. A header that lists none, or
    something else, is a 400 naming it: answered 412, "changed since you read it", a
    client would read the row again and send the same malformed header for ever."""
    tags = {tag.strip() for tag in header.split(",")} - {""}
    if not tags or any(tag != "*" and not ENTITY_TAG.fullmatch(tag) for tag in tags):
        raise ValidationError({"If-Match": [IF_MATCH_FORM]})
    return tags


def once_more_on_duplicate(handler):
    """`handler` in a savepoint, handled once more when it collides on a unique value with
    a row committed meanwhile: of two clients creating the same tag at once, PostgreSQL
    waits for the first, then refuses the second. Handled again, its checks see the first
    row and refuse it at its field (400), as they refuse the same request sent a moment
    later, not as a bare 409 conflict. The admin does the same with its forms (ADR 0049)."""

    @functools.wraps(handler)
    def handle(request, *args, **kwargs):
        try:
            with transaction.atomic():
                return handler(request, *args, **kwargs)
        except IntegrityError as exc:
            if not outage.is_duplicate(exc):
                raise
        return handler(request, *args, **kwargs)

    return handle


class ReplicaListMixin:
    """A list asked for with `X-Read-From: replica` is a reporting read (smartweb.replica):
    served by the read replica when it may, else by the primary. Without the header a
    list reads the primary, so a client that has just written sees its change."""

    def list(self, request, *args, **kwargs):
        if request.headers.get(RESPONSE_HEADER) == "replica":
            return reporting_view(super().list)(request, *args, **kwargs)
        return super().list(request, *args, **kwargs)


def _refuse_repeated_parameters(request, filterset_class) -> None:
    """A query parameter given more than once is a 400 unless it takes several values (a
    multiple-choice filter): DRF and django-filter would read one of them, unsaid which."""
    filters = filterset_class.base_filters if filterset_class else {}
    repeated = [
        name
        for name, values in request.query_params.lists()
        if len(values) > 1
        and not isinstance(filters.get(name), django_filters.MultipleChoiceFilter)
    ]
    if repeated:
        raise ValidationError({name: ["Give this parameter once."] for name in repeated})


class UnfilteredLookupMixin:
    """A row looked up by its id (`get_object`: a detail, an edit, an action on one row)
    skips the list's filter backends. No filter reaches it: an operation on one row
    declares none, and one it does not declare is refused (ADR 0055; DRF would filter the
    row by it, `?status=won` a 404 for a lead that is not won). The filter set was built
    and validated all the same: ~1.5 ms of a lead's detail, for 18 filters."""

    _unfiltered_lookup = False

    def get_object(self):
        self._unfiltered_lookup = True
        try:
            return super().get_object()
        finally:
            self._unfiltered_lookup = False

    def filter_queryset(self, queryset):
        if self._unfiltered_lookup:
            return queryset
        return super().filter_queryset(queryset)


@extend_schema_view(
    list=extend_schema(parameters=[ORGANIZATION_PARAMETER, READ_FROM_PARAMETER]),
    retrieve=extend_schema(parameters=[ORGANIZATION_PARAMETER]),
)
class TenantModelViewSet(
    HistoryMixin,
    ReplicaListMixin,
    OrganizationContextMixin,
    UnfilteredLookupMixin,
    viewsets.ModelViewSet,
):
    """CRUD on a tenant model. Subclasses set `queryset`, `resource`, serializers.

    - the queryset is narrowed to the rows the user may read (others are 404);
    - writes need the role permission (403) and the object scope;
    - DELETE soft-deletes; `POST …/{id}/restore/` brings a row back;
    - `GET …/{id}/history/` lists the row's changes (smartweb.api.history).
    """

    permission_classes = [HasResourcePermission]
    action_permissions: dict[str, str] = {"restore": Action.DELETE}
    lookup_value_regex = "[0-9a-fA-F-]{36}"

    def get_queryset(self):
        queryset = self.base_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()
        return access.visible(self.request.user, Action.READ, queryset, self.resource)

    def changes_own_row(self, method: str) -> bool:
        """Does a request of `method` to this view change the row it names, and so honour
        `If-Match` (ADR 0012)? A PUT, PATCH or DELETE, and a POST on one row: a workflow
        step (`move-stage`, `change-status`, `complete`, `send`…) changes it as an edit
        does. Not a restore: it reads the row among the deleted ones, whose version no
        answer shows. The schema declares 412 and 428 for these (smartweb.api.schema)."""
        if method in CONDITIONAL_METHODS:
            return True
        return method == "POST" and bool(self.detail) and self.action != "restore"

    def get_object(self):
        obj = super().get_object()
        if self.changes_own_row(self.request.method):
            self.check_if_match(obj)
        if self.request.method in SAFE_METHODS:  # a write answers the row as written
            self._shown_row = obj
        return obj

    def check_if_match(self, obj) -> None:
        """Honour `If-Match`: the row is locked and its version compared; a stale version
        is a 412 with the row as it now is. With `REQUIRE_IF_MATCH` a change without one
        is a 428. The lock holds until the request's transaction ends, so no one writes
        between this check and the change."""
        header = self.request.headers.get("If-Match")
        if header is None:
            if settings.REQUIRE_IF_MATCH:
                raise PreconditionRequired()
            return
        tags = if_match_tags(header)
        version = locked_version(type(obj), obj.pk)
        if "*" in tags or etag(version) in tags:
            return
        current = self.base_queryset().filter(pk=obj.pk).first()
        if current is None:  # deleted while this request waited for the lock
            raise Http404
        data = self.serializer_class(current, context=self.get_serializer_context()).data
        raise PreconditionFailed(current=data, etag=etag(version_of(current.updated_at)))

    def perform_destroy(self, instance):
        instance.delete()

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def restore(self, request, *args, **kwargs):
        model = self.queryset.model
        queryset = access.visible(
            request.user, Action.READ, model.all_objects.all(), self.resource
        ).filter(deleted_at__isnull=False)
        instance = self.get_object_from(queryset)
        with transaction.atomic():
            instance.restore()
        return Response(self.get_serializer(instance).data, status=status.HTTP_200_OK)

    def get_object_from(self, queryset):
        # DRF's lookup, as `get_object`'s: an id that is no UUID is a 404, not a 400.
        obj = get_object_or_404(queryset, pk=self.kwargs[self.lookup_field])
        self.check_object_permissions(self.request, obj)
        return obj


@extend_schema_view(list=extend_schema(parameters=[READ_FROM_PARAMETER]))
class TenantReadOnlyViewSet(
    HistoryMixin,
    ReplicaListMixin,
    OrganizationContextMixin,
    UnfilteredLookupMixin,
    viewsets.ReadOnlyModelViewSet,
):
    permission_classes = [HasResourcePermission]

    def get_queryset(self):
        queryset = self.base_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()
        return access.visible(self.request.user, Action.READ, queryset, self.resource)


__all__ = [
    "DeclaredParametersOnly",
    "ORGANIZATION_PARAMETER",
    "OrganizationContextMixin",
    "TenantModelViewSet",
    "TenantReadOnlyViewSet",
]
