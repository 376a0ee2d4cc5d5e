"""`?format=` (or a `.json` suffix) read as the schema declares it: a format none of the
view's renderers has is a 400 at `format`. DRF's is a 404, "not found", for a URL that is
there; the schema, which declares `format` with its values, says 400 for a bad value."""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation


class ContentNegotiation(DefaultContentNegotiation):
    def filter_renderers(self, renderers, format):  # noqa: A002  (DRF's name)
        kept = [renderer for renderer in renderers if renderer.format == format]
        if not kept:
            formats = ", ".join(dict.fromkeys(r.format for r in renderers if r.format))
            name = self.settings.URL_FORMAT_OVERRIDE or "format"
            raise ValidationError({name: [f"One of: {formats}."]})
        return kept
