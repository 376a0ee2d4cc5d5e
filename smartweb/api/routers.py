"""The API's router: DRF's, where a viewset drops an operation it inherits by setting it to
None (`create = None`). The route is then not built, so the operation is neither served
(the method is a 405 like any other) nor in the OpenAPI schema."""

from rest_framework.routers import DefaultRouter


class Router(DefaultRouter):
    def get_method_map(self, viewset, method_map):
        offered = super().get_method_map(viewset, method_map)
        return {
            method: name for method, name in offered.items() if getattr(viewset, name) is not None
        }
