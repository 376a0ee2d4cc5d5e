"""How far a share lets a colleague into one record."""

from django.db import models

from smartweb.rbac import Action


class ShareAccess(models.TextChoices):
    READ = "read", "Can view"
    UPDATE = "update", "Can view and edit"


# The actions each level gives: editing a record one cannot see would be no share at all.
SHARED_ACTIONS: dict[str, tuple[str, ...]] = {
    ShareAccess.READ: (Action.READ,),
    ShareAccess.UPDATE: (Action.READ, Action.UPDATE),
}
