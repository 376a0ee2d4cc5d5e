"""Two-factor authentication: a user with an authenticator signs in with a code after the
password (admin and API token alike); an organization can require it of all its members
or of its admins, who enrol at their next sign-in; wrong, replayed and locked-out codes
are refused with a clear message and an audit row."""

from __future__ import annotations

import time

import pytest
from django.db import connection, transaction
from django.test import Client, RequestFactory
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken

from accounts import crypto, key_rotation, two_factor
from accounts.audit import AuditAction
from accounts.models import (
    Organization,
    SealedTOTPDevice,
    TOTPSecret,
    UserSession,
    recovery_code_digest,
)
from tests import factories
from tests.accounts.conftest import audit_rows, bearer, obtain_token
from tests.concurrency import Racer, wait_until_blocked
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN_URL = "/admin/login/"
SECOND_STEP = "/admin/second-factor/"
SETTINGS_PAGE = "/admin/two-factor/"


def code_for(device: SealedTOTPDevice, steps_ahead: int = 1) -> str:
    """The authenticator's code `steps_ahead` time steps from now: by default the next
    one (enrolment used the current one, and a code is accepted once; the server allows
    one step of clock difference)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():06d}"


def enrol(user) -> tuple[SealedTOTPDevice, list[str]]:
    device = two_factor.start_enrolment(user)
    codes = two_factor.confirm_enrolment(user, code_for(device, steps_ahead=0))
    device.refresh_from_db()
    return device, codes


def require(organization, policy: str) -> None:
    Organization.objects.filter(pk=organization.pk).update(settings={"two_factor": policy})


def password_step(user, client: Client | None = None) -> Client:
    client = client or Client()
    response = client.post(LOGIN_URL, {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content
    assert response["Location"] == SECOND_STEP
    return client


def signed_in(client: Client) -> bool:
    return client.get("/admin/").status_code == 200


def login_events(organization, action) -> list[dict]:
    return [row.details for row in audit_rows(organization, action=action)]


# --- the admin sign-in ---------------------------------------------------------------------


def test_an_enrolled_user_is_signed_in_only_after_the_code(org_a, rep_a):
    device, _ = enrol(rep_a)
    client = password_step(rep_a)
    assert not signed_in(client)
    page = client.get(SECOND_STEP)
    assert b"six-digit code" in page.content

    response = client.post(SECOND_STEP, {"code": code_for(device)})

    assert response.status_code == 302
    assert signed_in(client)
    assert {"method": "admin_two_factor"} in login_events(org_a, AuditAction.LOGIN)


def test_a_wrong_code_is_refused_counted_and_audited(org_a, rep_a):
    device, _ = enrol(rep_a)
    client = password_step(rep_a)

    response = client.post(SECOND_STEP, {"code": code_for(device, steps_ahead=20)})

    assert response.status_code == 200
    assert b"That code is not valid" in response.content
    assert not signed_in(client)
    assert {"factor": "otp"} in login_events(org_a, AuditAction.LOGIN_FAILED)


def test_a_code_is_accepted_once(org_a, rep_a):
    device, _ = enrol(rep_a)
    code = code_for(device)
    first = password_step(rep_a)
    assert first.post(SECOND_STEP, {"code": code}).status_code == 302

    again = password_step(rep_a)
    response = again.post(SECOND_STEP, {"code": code})

    assert b"used already" in response.content
    assert not signed_in(again)


def test_repeated_wrong_codes_lock_the_sign_in(org_a, rep_a, login_limit):
    device, _ = enrol(rep_a)
    client = password_step(rep_a)
    for _ in range(login_limit):
        client.post(SECOND_STEP, {"code": "000000" if code_for(device) != "000000" else "111111"})

    response = client.post(SECOND_STEP, {"code": code_for(device)})

    assert b"Too many failed attempts" in response.content
    assert not signed_in(client)
    assert login_events(org_a, AuditAction.LOGIN_LOCKED)


def test_a_recovery_code_signs_in_once(org_a, rep_a):
    _, codes = enrol(rep_a)
    first = password_step(rep_a)
    assert first.post(SECOND_STEP, {"code": codes[0]}).status_code == 302
    assert signed_in(first)

    again = password_step(rep_a)
    assert again.post(SECOND_STEP, {"code": codes[0]}).status_code == 200
    assert not signed_in(again)
    assert two_factor.remaining_recovery_codes(rep_a) == len(codes) - 1


def test_the_second_step_expires(org_a, rep_a):
    device, _ = enrol(rep_a)
    client = password_step(rep_a)
    session = client.session
    session["smartweb_second_factor_pending"]["at"] -= 301
    session.save()

    response = client.post(SECOND_STEP, {"code": code_for(device)})

    assert response.status_code == 302 and response["Location"] == LOGIN_URL
    assert not signed_in(client)


def test_a_user_without_a_device_in_an_organization_without_the_rule_signs_in_as_before(
    org_a, rep_a
):
    client = Client()
    response = client.post(LOGIN_URL, {"username": rep_a.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] != SECOND_STEP
    assert signed_in(client)


# --- required by the organization ------------------------------------------------------------


def test_a_required_member_enrols_before_being_signed_in(org_a, rep_a):
    require(org_a, "all")
    client = password_step(rep_a)
    page = client.get(SECOND_STEP)
    assert b"Set up two-factor authentication" in page.content
    assert b"<svg" in page.content
    device = SealedTOTPDevice.objects.get(user=rep_a, confirmed=False)

    wrong = client.post(SECOND_STEP, {"code": code_for(device, steps_ahead=20)})
    assert b"That code is not right" in wrong.content
    assert not signed_in(client)

    done = client.post(SECOND_STEP, {"code": code_for(device, steps_ahead=0)})

    assert done.status_code == 200
    assert done.content.count(b"<li><code>") == two_factor.RECOVERY_CODES
    assert signed_in(client)
    assert two_factor.is_enrolled(rep_a)


def test_the_admins_rule_applies_to_admins_only(org_a, admin_a, rep_a):
    require(org_a, "admins")
    password_step(admin_a)
    rep = Client()
    rep.post(LOGIN_URL, {"username": rep_a.email, "password": PASSWORD})
    assert signed_in(rep)


def test_the_admins_rule_applies_to_organization_super_admins(org_a, admin_a):
    """The Organization Super Admin role grants what Organization Admin does: its
    members are admins to the rule, at sign-in and with a token made without a code."""
    super_admin = factories.make_member(org_a, "super_admin")
    token = bearer(obtain_token(super_admin.email).json()["token"])
    require(org_a, "admins")

    password_step(super_admin)
    assert token.get("/api/v1/leads/").status_code == 403
    refused = obtain_token(super_admin.email)
    assert (refused.status_code, refused.json()["error"]["code"]) == (
        403,
        "second_factor_enrolment_required",
    )


def test_a_session_from_before_the_rule_must_sign_in_again(org_a, rep_a):
    client = Client()
    client.post(LOGIN_URL, {"username": rep_a.email, "password": PASSWORD})
    assert signed_in(client)
    require(org_a, "all")

    response = client.get("/admin/leads/lead/")

    assert response.status_code == 302 and response["Location"] == LOGIN_URL
    assert not signed_in(client)


def test_an_unknown_rule_is_refused_in_the_settings(org_a, admin_a):
    from tests.factories import api_client

    response = api_client(admin_a, org_a).patch(
        f"/api/v1/organizations/{org_a.pk}/",
        {"settings": {"two_factor": "sometimes"}},
        format="json",
    )
    assert response.status_code == 400


# --- the user's own page ------------------------------------------------------------------


def test_a_user_sets_up_renews_codes_and_turns_it_off(org_a, rep_a):
    client = Client()
    client.post(LOGIN_URL, {"username": rep_a.email, "password": PASSWORD})
    assert b"Set up an authenticator app" in client.get(SETTINGS_PAGE).content
    started = client.post(SETTINGS_PAGE, {"action": "start"})
    assert b"<svg" in started.content
    device = SealedTOTPDevice.objects.get(user=rep_a, confirmed=False)
    confirmed = client.post(
        SETTINGS_PAGE, {"action": "confirm", "code": code_for(device, steps_ahead=0)}
    )
    assert confirmed.content.count(b"<li><code>") == two_factor.RECOVERY_CODES
    device.refresh_from_db()

    renewed = client.post(SETTINGS_PAGE, {"action": "recovery_codes", "code": code_for(device)})
    new_codes = renewed.content.decode().split("<li><code>")[1:]
    assert len(new_codes) == two_factor.RECOVERY_CODES

    turned_off = client.post(
        SETTINGS_PAGE, {"action": "remove", "code": new_codes[0].split("<")[0]}
    )
    assert turned_off.status_code == 302
    assert not two_factor.is_enrolled(rep_a)


def test_a_required_second_factor_cannot_be_turned_off(org_a, rep_a):
    require(org_a, "all")
    device, codes = enrol(rep_a)
    client = password_step(rep_a)
    client.post(SECOND_STEP, {"code": codes[0]})

    response = client.post(SETTINGS_PAGE, {"action": "remove", "code": code_for(device)})

    assert b"Your organization requires two-factor authentication" in response.content
    assert two_factor.is_enrolled(rep_a)


# --- API tokens ----------------------------------------------------------------------------


def test_a_token_needs_the_code_of_an_enrolled_user(org_a, rep_a):
    device, _ = enrol(rep_a)

    missing = obtain_token(rep_a.email)
    wrong = obtain_token(rep_a.email, otp_code=code_for(device, steps_ahead=20))
    right = obtain_token(rep_a.email, otp_code=code_for(device))

    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "second_factor_required"
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "second_factor_invalid"
    assert right.status_code == 201, right.content
    assert {"factor": "otp"} in login_events(org_a, AuditAction.LOGIN_FAILED)


def test_no_token_before_enrolment_where_required(org_a, rep_a):
    require(org_a, "all")

    response = obtain_token(rep_a.email)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "second_factor_enrolment_required"


def test_a_token_from_before_the_rule_is_refused_until_replaced_with_a_code(org_a, rep_a):
    old = bearer(obtain_token(rep_a.email).json()["token"])
    assert old.get("/api/v1/leads/").status_code == 200
    require(org_a, "all")

    refused = [old.get("/api/v1/leads/"), old.patch("/api/v1/me/", {"full_name": "X"})]
    device, _ = enrol(rep_a)
    new = obtain_token(rep_a.email, otp_code=code_for(device))
    listed = bearer(new.json()["token"]).get("/api/v1/auth/tokens/").json()["results"]

    assert [r.status_code for r in refused] == [403, 403]
    assert refused[0].json()["error"]["code"] == "second_factor_required"
    rep_a.refresh_from_db()
    assert rep_a.full_name != "X"
    assert bearer(new.json()["token"]).get("/api/v1/leads/").status_code == 200
    assert {t["id"]: t["status"] for t in listed} == {
        new.json()["id"]: "active",
        next(t["id"] for t in listed if t["id"] != new.json()["id"]): "needs_second_factor",
    }


def test_the_admins_rule_refuses_only_admins_tokens_made_without_a_code(org_a, admin_a, rep_a):
    admin, rep = (bearer(obtain_token(u.email).json()["token"]) for u in (admin_a, rep_a))
    require(org_a, "admins")

    assert admin.get("/api/v1/leads/").status_code == 403
    assert rep.get("/api/v1/leads/").status_code == 200
    # The admin cannot lift the rule with the token it refuses.
    lifted = admin.patch(
        f"/api/v1/organizations/{org_a.pk}/", {"settings": {"two_factor": "off"}}, format="json"
    )
    assert lifted.status_code == 403
    org_a.refresh_from_db()
    assert org_a.settings["two_factor"] == "admins"


def test_the_seed_is_sealed_at_rest_and_rotates_with_the_field_keys(org_a, rep_a, settings):
    """No column holds an authenticator's seed in clear: django-otp's `key` is empty, and
    the sealed seed decrypts only with the configured keys; a key rotation re-encrypts it
    and the same app codes still sign in."""
    device, _ = enrol(rep_a)
    seed = device.bin_key.hex()
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM otp_totp_totpdevice WHERE id = %s", [device.pk])
        assert cursor.fetchone() == ("",)
        cursor.execute("SELECT sealed_key FROM accounts_totpsecret")
        (sealed,) = cursor.fetchone()
    assert seed not in sealed and crypto.decrypt(sealed) == seed
    settings.FIELD_ENCRYPTION_KEY = ["a new key", *settings.FIELD_ENCRYPTION_KEY]
    assert key_rotation.rotate_model(TOTPSecret)["reencrypted"] == 1
    rotated = TOTPSecret.objects.get(pk=device.pk).sealed_key
    assert rotated != sealed and crypto.is_current(rotated)
    assert two_factor.totp_device(rep_a).verify_token(code_for(device))


def test_recovery_codes_are_kept_as_digests_and_work_once_as_typed(org_a, rep_a):
    """The database holds no recovery code in clear, only a digest of each; a code is 80
    random bits (16 characters), is accepted typed in capitals with spaces, and once."""
    _, codes = enrol(rep_a)
    assert len(set(codes)) == two_factor.RECOVERY_CODES
    assert all(len(code) == 16 for code in codes)
    stored = set(StaticToken.objects.filter(device__user=rep_a).values_list("token", flat=True))
    assert stored == {recovery_code_digest(code) for code in codes}
    assert not stored & set(codes)
    typed = " ".join([codes[3][:8].upper(), codes[3][8:].upper()])
    assert password_step(rep_a).post(SECOND_STEP, {"code": typed}).status_code == 302
    assert password_step(rep_a).post(SECOND_STEP, {"code": codes[3]}).status_code == 200
    assert two_factor.remaining_recovery_codes(rep_a) == len(codes) - 1


def test_an_authenticator_in_use_is_not_replaced_without_a_code(org_a, rep_a):
    device, codes = enrol(rep_a)
    client = password_step(rep_a)
    client.post(SECOND_STEP, {"code": codes[0]})

    started = client.post(SETTINGS_PAGE, {"action": "start"})
    confirmed = client.post(SETTINGS_PAGE, {"action": "confirm", "code": code_for(device)})

    assert started.status_code == 302 and confirmed.status_code == 302
    assert b"to replace the authenticator, enter a code" in client.get(SETTINGS_PAGE).content
    assert list(SealedTOTPDevice.objects.filter(user=rep_a)) == [device]
    assert two_factor.remaining_recovery_codes(rep_a) == len(codes) - 1


# --- replacing the authenticator in use ----------------------------------------------------


def recovered_session(user, code: str) -> Client:
    """A browser signed in with a recovery code (the phone is lost)."""
    client = password_step(user)
    assert client.post(SECOND_STEP, {"code": code}).status_code == 302
    return client


def pending_device(user) -> SealedTOTPDevice:
    return SealedTOTPDevice.objects.select_related("sealed").get(user=user, confirmed=False)


def test_a_lost_authenticator_is_replaced_with_a_recovery_code(
    org_a, rep_a, mailoutbox, django_capture_on_commit_callbacks
):
    old, codes = enrol(rep_a)
    old_code = code_for(old)
    client = recovered_session(rep_a, codes[0])

    started = client.post(SETTINGS_PAGE, {"action": "replace", "code": codes[1]})
    assert b"qr-code" in started.content and b"stays in use until you confirm" in started.content
    new = pending_device(rep_a)
    # The old authenticator signs in until the new one is confirmed.
    assert two_factor.totp_device(rep_a) == old
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(
            SETTINGS_PAGE, {"action": "confirm", "code": code_for(new, steps_ahead=0)}
        )

    new_codes = confirmed.content.decode().split("<li><code>")[1:]
    assert len(new_codes) == two_factor.RECOVERY_CODES
    assert two_factor.totp_device(rep_a) == new
    assert not SealedTOTPDevice.objects.filter(pk=old.pk).exists()
    assert signed_in(client)
    assert login_events(org_a, AuditAction.TWO_FACTOR_REPLACED) == [
        {"proof": "recovery_code", "signed_out_sessions": 0}
    ]
    assert [(m.to, m.subject) for m in mailoutbox] == [
        ([rep_a.email], "Your two-factor authenticator was replaced")
    ]
    assert "one of your recovery codes" in mailoutbox[0].body
    assert codes[1] not in mailoutbox[0].body
    # Neither the code that proved it nor the old authenticator signs in any more.
    for code in (codes[1], old_code):
        again = password_step(rep_a)
        assert b"used already" in again.post(SECOND_STEP, {"code": code}).content
    assert password_step(rep_a).post(SECOND_STEP, {"code": code_for(new)}).status_code == 302


def test_a_code_of_the_authenticator_in_use_proves_a_replacement(org_a, rep_a):
    old, codes = enrol(rep_a)
    client = recovered_session(rep_a, codes[0])

    client.post(SETTINGS_PAGE, {"action": "replace", "code": code_for(old)})
    new = pending_device(rep_a)
    client.post(SETTINGS_PAGE, {"action": "confirm", "code": code_for(new, steps_ahead=0)})

    assert two_factor.totp_device(rep_a) == new
    assert login_events(org_a, AuditAction.TWO_FACTOR_REPLACED) == [
        {"proof": "authenticator", "signed_out_sessions": 0}
    ]


def test_a_replacement_signs_every_other_device_out(org_a, rep_a):
    """Someone who signed in on another device with the old authenticator (or a stolen
    recovery code) does not stay signed in once the owner replaces it."""
    old, codes = enrol(rep_a)
    client = recovered_session(rep_a, codes[0])
    others = [recovered_session(rep_a, codes[1]), recovered_session(rep_a, codes[2])]
    client.post(SETTINGS_PAGE, {"action": "replace", "code": code_for(old)})
    new = pending_device(rep_a)

    client.post(SETTINGS_PAGE, {"action": "confirm", "code": code_for(new, steps_ahead=0)})

    assert signed_in(client)
    assert not any(signed_in(other) for other in others)
    active = UserSession.objects.filter(user=rep_a, revoked_at__isnull=True)
    assert list(active.values_list("session_key", flat=True)) == [client.session.session_key]
    assert login_events(org_a, AuditAction.TWO_FACTOR_REPLACED) == [
        {"proof": "authenticator", "signed_out_sessions": 2}
    ]


def test_a_wrong_code_of_the_new_authenticator_signs_no_device_out(org_a, rep_a):
    old, codes = enrol(rep_a)
    client = recovered_session(rep_a, codes[0])
    other = recovered_session(rep_a, codes[1])
    client.post(SETTINGS_PAGE, {"action": "replace", "code": code_for(old)})
    new = pending_device(rep_a)

    client.post(SETTINGS_PAGE, {"action": "confirm", "code": code_for(new, steps_ahead=20)})

    assert signed_in(client) and signed_in(other)
    assert not UserSession.objects.filter(user=rep_a, revoked_at__isnull=False).exists()


def test_a_wrong_or_used_code_starts_no_replacement_and_counts_as_a_failed_login(
    org_a, rep_a, login_limit
):
    old, codes = enrol(rep_a)
    client = recovered_session(rep_a, codes[0])
    attempts = [
        client.post(SETTINGS_PAGE, {"action": "replace", "code": code})
        for code in (codes[0], "not-a-recovery-code", code_for(old, steps_ahead=20))
    ]

    locked = client.post(SETTINGS_PAGE, {"action": "replace", "code": codes[1]})

    for page in attempts:
        assert page.status_code == 200
        assert b"That code is not valid, or was used already." in page.content
        assert b"qr-code" not in page.content
    assert b"Too many failed attempts" in locked.content
    assert not SealedTOTPDevice.objects.filter(user=rep_a, confirmed=False).exists()
    assert two_factor.totp_device(rep_a) == old
    assert two_factor.remaining_recovery_codes(rep_a) == len(codes) - 1  # codes[1] kept
    failed = login_events(org_a, AuditAction.LOGIN_FAILED)
    assert failed.count({"factor": "otp", "method": "two_factor_replacement"}) == login_limit
    assert not login_events(org_a, AuditAction.TWO_FACTOR_REPLACED)


def test_a_wrong_code_of_the_new_authenticator_keeps_the_old_one(org_a, rep_a, mailoutbox):
    old, codes = enrol(rep_a)
    client = recovered_session(rep_a, codes[0])
    client.post(SETTINGS_PAGE, {"action": "replace", "code": codes[1]})
    new = pending_device(rep_a)

    wrong = client.post(SETTINGS_PAGE, {"action": "confirm", "code": code_for(new, steps_ahead=20)})

    assert b"That code is not right" in wrong.content
    assert b"stays in use until you confirm" in wrong.content
    assert two_factor.totp_device(rep_a) == old
    assert pending_device(rep_a) == new  # the same one to scan again
    assert not login_events(org_a, AuditAction.TWO_FACTOR_REPLACED) and not mailoutbox
    assert password_step(rep_a).post(SECOND_STEP, {"code": code_for(old)}).status_code == 302


def test_the_proof_holds_for_the_session_that_gave_it_only(org_a, rep_a):
    old, codes = enrol(rep_a)
    proving = recovered_session(rep_a, codes[0])
    proving.post(SETTINGS_PAGE, {"action": "replace", "code": codes[1]})
    new = pending_device(rep_a)
    other = recovered_session(rep_a, codes[2])

    refused = other.post(SETTINGS_PAGE, {"action": "confirm", "code": code_for(new, 0)})

    assert refused.status_code == 302
    assert two_factor.totp_device(rep_a) == old


def test_the_proof_expires(org_a, rep_a):
    old, codes = enrol(rep_a)
    client = recovered_session(rep_a, codes[0])
    client.post(SETTINGS_PAGE, {"action": "replace", "code": codes[1]})
    new = pending_device(rep_a)
    session = client.session
    session["smartweb_two_factor_replacement"]["at"] -= 601
    session.save()

    refused = client.post(SETTINGS_PAGE, {"action": "confirm", "code": code_for(new, 0)})

    assert refused.status_code == 302
    assert two_factor.totp_device(rep_a) == old


@pytest.mark.django_db(transaction=True)
def test_one_recovery_code_proves_one_replacement_when_sent_twice_at_once():
    organization = factories.make_organization("Racing Replacements")
    member = factories.make_member(organization, "sales_rep")
    _, codes = enrol(member)

    def replace():
        return two_factor.start_replacement(RequestFactory().post("/"), member, codes[0])

    with transaction.atomic():
        first = replace()  # the devices' row locks held
        second = Racer(replace).start()
        wait_until_blocked(second)
    second.join()

    assert first is not None and first.proof == two_factor.Proof.RECOVERY_CODE
    assert second.error is None and second.result is None
    assert two_factor.remaining_recovery_codes(member) == two_factor.RECOVERY_CODES - 1


@pytest.mark.django_db(transaction=True)
def test_a_code_sent_twice_at_once_is_accepted_once():
    organization = factories.make_organization("Racing Codes")
    member = factories.make_member(organization, "sales_rep")
    device, _ = enrol(member)
    code = code_for(device)

    with transaction.atomic():
        first = two_factor.verify(RequestFactory().post("/"), member, code)  # its locks held
        second = Racer(lambda: obtain_token(member.email, otp_code=code)).start()
        wait_until_blocked(second)
    second.join()

    assert first is not None
    assert second.result.status_code == 401, second.result.content
    assert second.result.json()["error"]["code"] == "second_factor_invalid"
