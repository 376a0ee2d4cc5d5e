"""A lead's assignee is a member of the lead's organization (ADR 0009)."""

from django.db import migrations

from smartweb.tenancy.operations import MemberReference


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0013_company_created_by"),
        ("accounts", "0007_identity_guards"),
    ]

    operations = [MemberReference("lead", "assigned_to")]
