"""Enumerations of the lead-generation domain; each is checked by the database too."""

from django.db import models


class BusinessType(models.TextChoices):
    PLUMBER = "plumber"
    ELECTRICIAN = "electrician"
    ROOFER = "roofer"
    HVAC = "hvac", "HVAC"
    BUILDER = "builder"
    LANDSCAPER = "landscaper"
    CARPENTER = "carpenter"
    PAINTER = "painter"
    LOCKSMITH = "locksmith"
    CLEANER = "cleaner"
    PEST_CONTROL = "pest_control"
    OTHER = "other"


class CompanySize(models.TextChoices):
    SOLO = "solo", "Sole trader"
    SMALL = "small", "2-9 employees"
    MEDIUM = "medium", "10-49 employees"
    LARGE = "large", "50+ employees"


class WebsiteStatus(models.TextChoices):
    """Kept in `Company.online_presence["website_status"]`."""

    NONE = "none", "No website"
    OUTDATED = "outdated"
    MODERN = "modern"


class LeadStatus(models.TextChoices):
    NEW = "new"
    CONTACTED = "contacted"
    QUALIFIED = "qualified"
    UNQUALIFIED = "unqualified"
    NURTURING = "nurturing"
    CONVERTED = "converted"
    LOST = "lost"


class LeadSource(models.TextChoices):
    MANUAL = "manual"
    WEBSITE = "website"
    REFERRAL = "referral"
    GOOGLE_MAPS = "google_maps", "Google Maps"
    DIRECTORY = "directory"
    SOCIAL = "social"
    COLD_CALL = "cold_call"
    CAMPAIGN = "campaign"
    EVENT = "event"
    IMPORT = "import", "CSV import"
    WEB_FORM = "web_form", "Web form"
    OTHER = "other"


class InteractionType(models.TextChoices):
    CALL = "call"
    EMAIL = "email"
    SMS = "sms", "SMS"
    MEETING = "meeting"
    NOTE = "note"
    AI_CALL = "ai_call", "AI call"
    WEBSITE_VISIT = "website_visit"


class Direction(models.TextChoices):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


class Outcome(models.TextChoices):
    CONNECTED = "connected"
    NO_ANSWER = "no_answer"
    VOICEMAIL = "voicemail"
    INTERESTED = "interested"
    NOT_INTERESTED = "not_interested"
    CALLBACK_REQUESTED = "callback_requested"
    MEETING_BOOKED = "meeting_booked"
    WRONG_NUMBER = "wrong_number"
    BOUNCED = "bounced"
    OTHER = "other"


POSITIVE_OUTCOMES = (Outcome.INTERESTED, Outcome.CALLBACK_REQUESTED, Outcome.MEETING_BOOKED)


class FormField(models.TextChoices):
    """The fields a lead-capture form offers (leads.lead_forms), each may be required."""

    CONTACT_NAME = "contact_name", "Name"
    CONTACT_EMAIL = "contact_email", "Email"
    CONTACT_PHONE = "contact_phone", "Phone"
    COMPANY_NAME = "company_name", "Company"
    WEBSITE = "website"
    CITY = "city"
    MESSAGE = "message"
    CONSENT = "consent", "Consent box ticked"


class FormAssignment(models.TextChoices):
    ROUND_ROBIN = "round_robin", "Round robin among the sales reps"
    UNASSIGNED = "unassigned", "Leave unassigned"
