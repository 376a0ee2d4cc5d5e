"""CRM models."""
