"""The job queue's pages (procrastinate's jobs, every organization's at once): a platform
super admin opens a job read-only, what its arguments and locks say escaped, its events
in order, and can neither edit nor delete it there; no member of any organization, in
whatever role, opens them or takes their actions, not even one given Django's own
permissions on jobs."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from procrastinate.contrib.django.models import ProcrastinateJob

from tests.accounts.conftest import admin_client
from tests.factories import UserFactory, make_member
from webhooks.jobs import defer_delivery

pytestmark = pytest.mark.django_db

JOBS = reverse("admin:procrastinate_procrastinatejob_changelist")
# What a job's arguments may carry: text from outside, in its args and its locks.
HOSTILE = '</pre><script>alert("job")</script>'


def _page(view: str, job_id: int) -> str:
    return reverse(f"admin:procrastinate_procrastinatejob_{view}", args=[job_id])


def _queued(org) -> ProcrastinateJob:
    defer_delivery(organization_id=org.pk, endpoint_id=HOSTILE)
    # This organization's: a job another test left committed is not this one.
    return ProcrastinateJob.objects.get(
        task_name="webhooks.deliver", args__organization_id=str(org.pk)
    )


def _actions(client) -> set[str]:
    form = client.get(JOBS).context_data["action_form"]
    return {name for name, _ in form.fields["action"].choices if name}


@pytest.fixture
def root(db):
    return admin_client(UserFactory(is_superuser=True))


def test_a_job_opens_read_only_its_arguments_escaped(org_a, root):
    job = _queued(org_a)
    for path in (JOBS, _page("change", job.pk)):
        answer = root.get(path)
        assert answer.status_code == 200, path
        body = answer.content.decode()
        assert "<script>alert" not in body, path
        assert "&lt;/pre&gt;&lt;script&gt;alert" in body, path
    # Nothing to type in or save: the job as it is, and what happened to it.
    assert 'name="_save"' not in body and 'name="_continue"' not in body
    assert not re.findall(r'name="procrastinateevent_set-\d+-(?:type|at)"', body)
    assert "Type: deferred" in " ".join(re.sub(r"<[^>]+>", " ", body).split())


def test_the_list_finds_a_job_by_its_lock_and_lists_no_lock_to_filter_by(org_a, root):
    for endpoint in ("one", "two"):
        defer_delivery(organization_id=org_a.pk, endpoint_id=endpoint)
    assert not re.search(r"[?&;](?:queueing_)?lock=", root.get(JOBS).content.decode())
    found = root.get(JOBS, {"q": "webhooks.deliver:two"}).context_data["cl"].result_list
    assert [job.args["endpoint_id"] for job in found] == ["two"]


def test_a_job_is_neither_changed_nor_deleted_from_its_pages(org_a, root):
    job = _queued(org_a)
    assert root.post(_page("change", job.pk), {"status": "succeeded"}).status_code == 403
    assert root.get(_page("delete", job.pk)).status_code == 403
    assert root.post(_page("delete", job.pk), {"post": "yes"}).status_code == 403
    assert "delete_selected" not in _actions(root)
    answer = root.post(
        JOBS, {"action": "delete_selected", "_selected_action": [job.pk], "post": "yes"}
    )
    assert answer.status_code == 302
    assert ProcrastinateJob.objects.filter(pk=job.pk, status="todo").exists()


def test_a_jobs_history_is_its_events_not_an_organizations_audit_log(org_a):
    # A super admin who is also an organization's admin reads its audit log.
    root = admin_client(make_member(org_a, "org_admin", is_superuser=True))
    job = _queued(org_a)
    assert 'class="historylink"' not in root.get(_page("change", job.pk)).content.decode()
    assert root.get(_page("history", job.pk)).status_code == 403


@pytest.mark.parametrize("who", ["admin_a", "manager_a", "rep_a", "readonly_a", "admin_b"])
def test_no_member_of_an_organization_reaches_the_jobs(request, org_a, who):
    user = request.getfixturevalue(who)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="procrastinate"))
    client = admin_client(user)
    job = _queued(org_a)
    for view in ("change", "history", "delete"):
        assert client.get(_page(view, job.pk)).status_code == 403, view
    assert client.get(JOBS).status_code == 403
    for action in ("retry_selected", "cancel_selected"):
        answer = client.post(JOBS, {"action": action, "_selected_action": [job.pk]})
        assert answer.status_code == 403, action
    assert ProcrastinateJob.objects.get(pk=job.pk).status == "todo"
    assert JOBS not in client.get(reverse("admin:index")).content.decode()
