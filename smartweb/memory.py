"""A web process's start-up objects kept out of the garbage collector's scans.

Django, DRF, the URL conf, the models and the serializers make ~140,000 objects that
live as long as the process. The cyclic collector scans them again in every full
collection (one every ~60 lead-list requests, ~0.3 s each on the bench host under load)
and its middle generation often: ~10 ms of a ~100 ms request on average. Frozen after
start-up (`gc.freeze()`), they are left alone: ~3 ms (bench/README.md, 2026-12-04).
Objects made later are collected as before.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Load what the first request would (the URL conf, and through it every view and
    serializer), collect what start-up left behind, and freeze the rest."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports the views
    gc.collect()
    gc.freeze()
