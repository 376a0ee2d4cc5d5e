"""Demo saved views: a rep's hot leads and a manager's open deals, both shared with the
team, so the lists' "Views" box has something to open on `make run`. Idempotent."""

from __future__ import annotations

from savedviews import services
from savedviews.models import SavedView

DEMO_VIEWS = (
    ("rep", "leads", "Hot leads", {"score_min": ["70"], "score_max": ["100"]}),
    ("manager", "opportunities", "Open deals", {"status": ["open"], "ordering": ["-value"]}),
)


def load_demo(*, organization, users: dict) -> None:
    for who, resource, name, query in DEMO_VIEWS:
        owner = users[who]
        if not SavedView.all_objects.filter(owner=owner, resource=resource, name=name).exists():
            services.saved_view_create(
                acting_user=None,
                owner=owner,
                resource=resource,
                name=name,
                query=query,
                shared=True,
            )
