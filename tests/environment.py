"""Loaded as a pytest plugin before Django is configured: the test settings switch."""

import os

os.environ["SMARTWEB_TESTING"] = "1"
