"""Clear the Python side of the organization context after every request.

The database side is transaction-local and ends with the request's transaction; this
makes sure a reused worker thread never starts a request with the previous one's state.
"""

from smartweb.tenancy.context import _State, _state


class TenantContextResetMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _state.set(_State())
        try:
            return self.get_response(request)
        finally:
            _state.reset(token)
