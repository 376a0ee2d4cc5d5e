"""Enumerations of the compliance domain; each is checked by the database too."""

from django.db import models


class RequestKind(models.TextChoices):
    EXPORT = "export", "Access / portability (export)"
    ERASURE = "erasure"


class RequestStatus(models.TextChoices):
    OPEN = "open"
    COMPLETED = "completed"
    REJECTED = "rejected"


class ConsentPurpose(models.TextChoices):
    # Calls, emails and AI calls about our services (GDPR opt-in).
    CONTACT = "contact", "Contact (calls, emails, AI calls)"
    # Sale or sharing of personal data (CCPA opt-out: withdrawn = do not sell).
    DATA_SALE = "data_sale", "Sale or sharing of personal data"


class ConsentSource(models.TextChoices):
    WEB_FORM = "web_form"
    EMAIL = "email"
    PHONE = "phone"
    AI_CALL = "ai_call", "AI call"
    IN_PERSON = "in_person"
    IMPORT = "import"
    OTHER = "other"


class SuppressionKind(models.TextChoices):
    EMAIL = "email"
    PHONE = "phone"


class SuppressionReason(models.TextChoices):
    ERASURE = "erasure"
    OBJECTION = "objection"
    # Mail to the address bounced (mailing.inbound): nothing more is sent to it.
    BOUNCE = "bounce"
    # The address's owner used the unsubscribe link of an email (mailing.unsubscribe).
    UNSUBSCRIBED = "unsubscribed"
