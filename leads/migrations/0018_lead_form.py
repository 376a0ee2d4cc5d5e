"""Public lead-capture forms (leads.lead_forms) and the lead source `web_form`."""

import uuid

import django.contrib.postgres.fields
import django.db.models.deletion
import django.utils.timezone
import simple_history.models
from django.conf import settings
from django.db import migrations, models

import leads.models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0013_lead_forms_resource"),
        ("leads", "0017_similar_company_names"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="HistoricalLeadForm",
            fields=[
                ("history_request_id", models.CharField(blank=True, default="", max_length=160)),
                ("history_ip_address", models.GenericIPAddressField(blank=True, null=True)),
                ("history_user_agent", models.CharField(blank=True, default="", max_length=400)),
                ("id", models.UUIDField(db_index=True, default=uuid.uuid4, editable=False)),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                ("updated_at", models.DateTimeField(blank=True, editable=False)),
                ("deleted_at", models.DateTimeField(blank=True, editable=False, null=True)),
                (
                    "public_key",
                    models.CharField(
                        default=leads.models.new_public_key, editable=False, max_length=64
                    ),
                ),
                ("name", models.CharField(max_length=120)),
                ("is_active", models.BooleanField(default=True)),
                (
                    "title",
                    models.CharField(
                        blank=True, help_text="Heading of the form page.", max_length=200
                    ),
                ),
                (
                    "consent_text",
                    models.TextField(
                        blank=True,
                        help_text="The statement beside the consent box, stored as evidence.",
                    ),
                ),
                (
                    "consent_purposes",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.CharField(
                            choices=[
                                ("contact", "Contact (calls, emails, AI calls)"),
                                ("data_sale", "Sale or sharing of personal data"),
                            ],
                            max_length=20,
                        ),
                        blank=True,
                        default=list,
                        help_text="What a ticked consent box grants.",
                        size=None,
                    ),
                ),
                (
                    "required_fields",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.CharField(
                            choices=[
                                ("contact_name", "Name"),
                                ("contact_email", "Email"),
                                ("contact_phone", "Phone"),
                                ("company_name", "Company"),
                                ("website", "Website"),
                                ("city", "City"),
                                ("message", "Message"),
                                ("consent", "Consent box ticked"),
                            ],
                            max_length=20,
                        ),
                        blank=True,
                        default=list,
                        help_text="Fields a submission must fill (an email or a phone is always needed).",
                        size=None,
                    ),
                ),
                (
                    "assignment",
                    models.CharField(
                        choices=[
                            ("round_robin", "Round robin among the sales reps"),
                            ("unassigned", "Leave unassigned"),
                        ],
                        default="round_robin",
                        max_length=20,
                    ),
                ),
                (
                    "success_message",
                    models.CharField(
                        default="Thank you, we will be in touch shortly.", max_length=500
                    ),
                ),
                (
                    "redirect_url",
                    models.URLField(
                        blank=True,
                        help_text="Where the page sends the visitor afterwards.",
                        max_length=500,
                    ),
                ),
                (
                    "allowed_origins",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.CharField(max_length=200),
                        blank=True,
                        default=list,
                        help_text="Sites that may post or embed the form (https://example.com); none: any.",
                        size=None,
                    ),
                ),
                (
                    "history_id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(
                        choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1
                    ),
                ),
            ],
            options={
                "verbose_name": "historical lead form",
                "verbose_name_plural": "historical lead forms",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="LeadForm",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("deleted_at", models.DateTimeField(blank=True, editable=False, null=True)),
                (
                    "public_key",
                    models.CharField(
                        default=leads.models.new_public_key, editable=False, max_length=64
                    ),
                ),
                ("name", models.CharField(max_length=120)),
                ("is_active", models.BooleanField(default=True)),
                (
                    "title",
                    models.CharField(
                        blank=True, help_text="Heading of the form page.", max_length=200
                    ),
                ),
                (
                    "consent_text",
                    models.TextField(
                        blank=True,
                        help_text="The statement beside the consent box, stored as evidence.",
                    ),
                ),
                (
                    "consent_purposes",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.CharField(
                            choices=[
                                ("contact", "Contact (calls, emails, AI calls)"),
                                ("data_sale", "Sale or sharing of personal data"),
                            ],
                            max_length=20,
                        ),
                        blank=True,
                        default=list,
                        help_text="What a ticked consent box grants.",
                        size=None,
                    ),
                ),
                (
                    "required_fields",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.CharField(
                            choices=[
                                ("contact_name", "Name"),
                                ("contact_email", "Email"),
                                ("contact_phone", "Phone"),
                                ("company_name", "Company"),
                                ("website", "Website"),
                                ("city", "City"),
                                ("message", "Message"),
                                ("consent", "Consent box ticked"),
                            ],
                            max_length=20,
                        ),
                        blank=True,
                        default=list,
                        help_text="Fields a submission must fill (an email or a phone is always needed).",
                        size=None,
                    ),
                ),
                (
                    "assignment",
                    models.CharField(
                        choices=[
                            ("round_robin", "Round robin among the sales reps"),
                            ("unassigned", "Leave unassigned"),
                        ],
                        default="round_robin",
                        max_length=20,
                    ),
                ),
                (
                    "success_message",
                    models.CharField(
                        default="Thank you, we will be in touch shortly.", max_length=500
                    ),
                ),
                (
                    "redirect_url",
                    models.URLField(
                        blank=True,
                        help_text="Where the page sends the visitor afterwards.",
                        max_length=500,
                    ),
                ),
                (
                    "allowed_origins",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.CharField(max_length=200),
                        blank=True,
                        default=list,
                        help_text="Sites that may post or embed the form (https://example.com); none: any.",
                        size=None,
                    ),
                ),
            ],
            options={
                "ordering": ["name"],
                "abstract": False,
            },
        ),
        migrations.RemoveConstraint(
            model_name="lead",
            name="leads_lead_source",
        ),
        migrations.AlterField(
            model_name="historicallead",
            name="source",
            field=models.CharField(
                choices=[
                    ("manual", "Manual"),
                    ("website", "Website"),
                    ("referral", "Referral"),
                    ("google_maps", "Google Maps"),
                    ("directory", "Directory"),
                    ("social", "Social"),
                    ("cold_call", "Cold Call"),
                    ("campaign", "Campaign"),
                    ("event", "Event"),
                    ("import", "CSV import"),
                    ("web_form", "Web form"),
                    ("other", "Other"),
                ],
                default="manual",
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="lead",
            name="source",
            field=models.CharField(
                choices=[
                    ("manual", "Manual"),
                    ("website", "Website"),
                    ("referral", "Referral"),
                    ("google_maps", "Google Maps"),
                    ("directory", "Directory"),
                    ("social", "Social"),
                    ("cold_call", "Cold Call"),
                    ("campaign", "Campaign"),
                    ("event", "Event"),
                    ("import", "CSV import"),
                    ("web_form", "Web form"),
                    ("other", "Other"),
                ],
                default="manual",
                max_length=20,
            ),
        ),
        migrations.AddConstraint(
            model_name="lead",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "source__in",
                        [
                            "manual",
                            "website",
                            "referral",
                            "google_maps",
                            "directory",
                            "social",
                            "cold_call",
                            "campaign",
                            "event",
                            "import",
                            "web_form",
                            "other",
                        ],
                    )
                ),
                name="leads_lead_source",
            ),
        ),
        migrations.AddField(
            model_name="historicalleadform",
            name="deleted_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="historicalleadform",
            name="history_user",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="historicalleadform",
            name="last_assigned_to",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="historicalleadform",
            name="organization",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="accounts.organization",
            ),
        ),
        migrations.AddField(
            model_name="leadform",
            name="deleted_by",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="leadform",
            name="last_assigned_to",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="leadform",
            name="organization",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.organization",
            ),
        ),
        migrations.AddIndex(
            model_name="leadform",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["organization", "id"],
                name="leads_leadform_active",
            ),
        ),
        migrations.AddIndex(
            model_name="leadform",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", False)),
                fields=["organization", "deleted_at"],
                name="leads_leadform_deleted",
            ),
        ),
        migrations.AddConstraint(
            model_name="leadform",
            constraint=models.UniqueConstraint(
                fields=("public_key",), name="leadform_public_key_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="leadform",
            constraint=models.CheckConstraint(
                condition=models.Q(("assignment__in", ["round_robin", "unassigned"])),
                name="leads_leadform_assignment",
            ),
        ),
    ]
