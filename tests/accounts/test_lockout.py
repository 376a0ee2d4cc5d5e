"""Login lockout after repeated failures: per address and account, per address, and per
account from unusual addresses, for the API token endpoint and the admin login alike,
lifting when the window has passed. The owner of an attacked account still gets in
from the addresses they usually sign in from."""

import datetime as dt

import pytest
from django.db.models import F
from django.test import Client
from rest_framework.test import APIClient

from accounts.audit import AuditAction
from accounts.models import LoginAttempt
from tests.accounts.conftest import audit_actions, audit_rows, obtain_token
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def fail(email: str, times: int, **extra) -> None:
    for _ in range(times):
        assert obtain_token(email, password="wrong-password", **extra).status_code == 401


def age_attempts(seconds: int) -> None:
    """Move every recorded attempt `seconds` into the past."""
    LoginAttempt.objects.update(created_at=F("created_at") - dt.timedelta(seconds=seconds))


def test_locked_after_the_limit_even_with_the_right_password(login_limit, rep_a, org_a):
    fail(rep_a.email, login_limit)

    response = obtain_token(rep_a.email)

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "login_locked"
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= 600
    assert response.json()["error"]["details"] == {"retry_after": retry_after}
    assert audit_actions(org_a, actor_email=rep_a.email) == [
        *[AuditAction.LOGIN_FAILED] * login_limit,
        AuditAction.LOGIN_LOCKED,
    ]
    locked = audit_rows(org_a, action=AuditAction.LOGIN_LOCKED)[0]
    assert locked.details["reason"] == "address_and_account"


def test_below_the_limit_the_right_password_works(login_limit, rep_a):
    fail(rep_a.email, login_limit - 1)
    assert obtain_token(rep_a.email).status_code == 201


def test_a_success_clears_the_account_count_not_the_address_count(login_limit, settings, rep_a):
    office = APIClient(REMOTE_ADDR="192.0.2.1")
    fail(rep_a.email, login_limit - 1, client=office)
    assert obtain_token(rep_a.email, client=office).status_code == 201
    fail(rep_a.email, login_limit - 1, client=office)
    assert obtain_token(rep_a.email, client=office).status_code == 201

    # The address keeps its failures regardless of the successes in between.
    guesses = settings.LOGIN_ADDRESS_FAILURE_LIMIT - 2 * (login_limit - 1)
    for n in range(guesses):
        fail(f"guess{n}@example.test", 1, client=office)
    assert obtain_token(rep_a.email, client=office).status_code == 429


def test_the_lock_lifts_after_the_window(login_limit, rep_a):
    fail(rep_a.email, login_limit)
    age_attempts(590)
    locked = obtain_token(rep_a.email)
    assert locked.status_code == 429 and int(locked["Retry-After"]) <= 10

    age_attempts(11)

    assert obtain_token(rep_a.email).status_code == 201


def test_locked_attempts_do_not_extend_the_lock(login_limit, rep_a):
    fail(rep_a.email, login_limit)
    for _ in range(3):
        assert obtain_token(rep_a.email, password="wrong-password").status_code == 429
    assert LoginAttempt.objects.filter(email=rep_a.email).count() == login_limit


def test_unknown_emails_are_locked_too(login_limit, db):
    fail("ghost@example.test", login_limit)
    assert obtain_token("ghost@example.test").status_code == 429


def test_one_address_is_locked_across_emails(login_limit, settings, admin_a, org_a):
    for n in range(settings.LOGIN_ADDRESS_FAILURE_LIMIT):
        fail(f"guess{n}@example.test", 1)

    response = obtain_token(admin_a.email)

    assert response.status_code == 429
    assert audit_rows(org_a, action=AuditAction.LOGIN_LOCKED)[0].details["reason"] == "address"
    # From another address the same person logs in.
    elsewhere = APIClient(REMOTE_ADDR="203.0.113.9")
    assert obtain_token(admin_a.email, client=elsewhere).status_code == 201


def test_one_ipv6_network_is_locked_across_its_addresses(login_limit, settings, admin_a):
    """An IPv6 client sends from any address of its /64: each guess from a new one still
    counts towards the one lock; a client of another network still gets in."""
    for n in range(settings.LOGIN_ADDRESS_FAILURE_LIMIT):
        fail(f"guess{n}@example.test", 1, client=APIClient(REMOTE_ADDR=f"2001:db8:1:2::{n:x}"))

    rotated = APIClient(REMOTE_ADDR="2001:db8:1:2:ffff:ffff:ffff:ffff")
    assert obtain_token(admin_a.email, client=rotated).status_code == 429
    neighbour = APIClient(REMOTE_ADDR="2001:db8:1:3::1")
    assert obtain_token(admin_a.email, client=neighbour).status_code == 201


def test_the_owner_gets_in_from_a_usual_address_while_the_attacker_is_locked(
    login_limit, rep_a, org_a
):
    office, attacker = APIClient(REMOTE_ADDR="192.0.2.1"), APIClient(REMOTE_ADDR="203.0.113.66")
    assert obtain_token(rep_a.email, client=office).status_code == 201

    fail(rep_a.email, login_limit, client=attacker)

    assert obtain_token(rep_a.email, client=attacker).status_code == 429
    assert obtain_token(rep_a.email, client=office).status_code == 201


def test_failures_spread_over_addresses_lock_the_account_except_where_it_usually_signs_in(
    login_limit, settings, rep_a, org_a
):
    office = APIClient(REMOTE_ADDR="192.0.2.1")
    assert obtain_token(rep_a.email, client=office).status_code == 201
    for n in range(settings.LOGIN_ACCOUNT_FAILURE_LIMIT):
        fail(rep_a.email, 1, client=APIClient(REMOTE_ADDR=f"198.51.100.{n + 1}"))

    new_address = APIClient(REMOTE_ADDR="203.0.113.9")
    assert obtain_token(rep_a.email, client=new_address).status_code == 429
    assert audit_rows(org_a, action=AuditAction.LOGIN_LOCKED)[-1].details["reason"] == "account"
    assert obtain_token(rep_a.email, client=office).status_code == 201


def test_behind_a_trusted_proxy_each_client_address_is_counted_apart(login_limit, settings, rep_a):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    office = APIClient(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="192.0.2.1")
    assert obtain_token(rep_a.email, client=office).status_code == 201
    # The attacker writes the office's address first: only the proxy's entry counts.
    attacker = APIClient(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.66")

    fail(rep_a.email, login_limit, client=attacker)

    assert obtain_token(rep_a.email, client=attacker).status_code == 429
    assert obtain_token(rep_a.email, client=office).status_code == 201


def test_a_forged_forwarded_for_does_not_escape_the_lock_without_trusted_proxies(
    login_limit, rep_a
):
    for n in range(login_limit):
        forged = APIClient(REMOTE_ADDR="203.0.113.66", HTTP_X_FORWARDED_FOR=f"192.0.2.{n + 1}")
        fail(rep_a.email, 1, client=forged)
    forged = APIClient(REMOTE_ADDR="203.0.113.66", HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert obtain_token(rep_a.email, client=forged).status_code == 429


def admin_login(client: Client, email: str, password: str):
    return client.post("/admin/login/", {"username": email, "password": password})


def test_admin_login_works_and_is_audited(admin_a, org_a):
    client = Client()
    response = admin_login(client, admin_a.email, PASSWORD)

    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    (row,) = audit_rows(org_a, action=AuditAction.LOGIN)
    assert row.actor == admin_a and row.details == {"method": "admin"}


def test_admin_login_failures_are_audited(admin_a, org_a):
    response = admin_login(Client(), admin_a.email, "wrong-password")

    assert response.status_code == 200
    assert "correct email and password" in response.content.decode()
    assert audit_actions(org_a)[-1] == AuditAction.LOGIN_FAILED


def test_admin_login_lets_the_owner_in_from_a_usual_address_while_the_attacker_is_locked(
    login_limit, admin_a
):
    office, attacker = Client(REMOTE_ADDR="192.0.2.1"), Client(REMOTE_ADDR="203.0.113.66")
    assert admin_login(office, admin_a.email, PASSWORD).status_code == 302
    office.logout()
    for _ in range(login_limit):
        admin_login(attacker, admin_a.email, "wrong-password")

    refused = admin_login(attacker, admin_a.email, PASSWORD)

    assert "Too many failed logins" in refused.content.decode()
    assert admin_login(office, admin_a.email, PASSWORD).status_code == 302
    assert office.get("/admin/").status_code == 200


def test_admin_login_is_locked_by_the_same_counter(login_limit, admin_a, org_a):
    client = Client()
    fail(admin_a.email, login_limit - 1)
    admin_login(client, admin_a.email, "wrong-password")

    response = admin_login(client, admin_a.email, PASSWORD)

    assert response.status_code == 200
    assert "Too many failed logins" in response.content.decode()
    assert client.get("/admin/").status_code == 302  # still not logged in
    assert obtain_token(admin_a.email).status_code == 429
    assert audit_actions(org_a)[-2:] == [AuditAction.LOGIN_LOCKED, AuditAction.LOGIN_LOCKED]
