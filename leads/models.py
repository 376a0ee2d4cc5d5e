"""Lead generation models."""
