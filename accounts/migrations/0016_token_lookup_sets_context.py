"""The token look-up sets the request's context itself.

Each API request set its organization context by a statement of its own before the
look-up (the policies the look-up reads under need the organization), and set it again
with the user after: two round trips of ~0.13 ms each, on every request. The function
now sets both, transaction-local as `smartweb.tenancy.context` does: the organization it
is given, and the user of the token it finds ('' when it finds none). The caller refuses
an unusable token by clearing the context, as before.

Still SECURITY INVOKER: it reads under the runtime role's policies, in the context it
sets, which that role may set with `set_config` itself; VOLATILE, since it changes it.
"""

import importlib

from django.db import migrations

_PREVIOUS = importlib.import_module("accounts.migrations.0015_token_lookup").FUNCTION
# What changes from accounts 0015: the volatility, and the context set before the query.
_CONTEXT = """    PERFORM set_config('smartweb.organization_id', org::text, true);
    PERFORM set_config(
        'smartweb.user_id',
        coalesce((SELECT t.user_id::text FROM public.accounts_apitoken t
                   WHERE t.organization_id = org AND t.key_hash = key), ''),
        true
    );
"""
_CHANGES = (
    ("LANGUAGE plpgsql STABLE", "LANGUAGE plpgsql VOLATILE"),
    ("BEGIN\n    RETURN QUERY", "BEGIN\n" + _CONTEXT + "    RETURN QUERY"),
)


def _changed(function: str) -> str:
    for old, new in _CHANGES:
        if function.count(old) != 1:
            raise RuntimeError(f"accounts 0015's function no longer has {old!r} once")
        function = function.replace(old, new)
    return function


FUNCTION = _changed(_PREVIOUS)


def forwards(apps, schema_editor):
    # CREATE OR REPLACE keeps the privileges (EXECUTE for the runtime role only); 0015's
    # REVOKE from PUBLIC comes with its text.
    schema_editor.execute(FUNCTION)


def backwards(apps, schema_editor):
    schema_editor.execute(_PREVIOUS)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0015_token_lookup")]

    operations = [migrations.RunPython(forwards, backwards)]
