#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartweb.settings")
    from django.core.management import execute_from_command_line

    from smartweb.origin import command_origin

    # History and audit rows written by a command name it (no request, no address).
    with command_origin(sys.argv[1] if len(sys.argv) > 1 else "help"):
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
