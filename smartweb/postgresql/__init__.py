"""Django's PostgreSQL backend with a schema editor that keeps tenant foreign keys
composite (ADR 0035)."""
