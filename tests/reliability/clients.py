"""What the reliability tests share to act as clients: the demo admin's API session, a
person in the admin's pages, and eight clients sending at the same moment."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests

from accounts import services as account_services
from accounts.demo import DEMO_PASSWORD
from accounts.models import User
from compliance.choices import ConsentPurpose
from leads import lead_forms
from smartweb.tenancy.context import tenant_context
from tests.html_forms import form_data

CLIENTS = 8


def admin_session(
    organization, *, name: str, clients: int = CLIENTS, user: User | None = None
) -> requests.Session:
    """A requests session as the organization's demo admin (or `user`) with an API token
    of its own, holding up to `clients` connections at once. Needs the database
    (unblocked)."""
    user = user or User.objects.get(email=f"admin@{organization.slug}.smartweb.test")
    with tenant_context(organization, user=user):
        _, raw = account_services.token_create(
            user=user, organization_id=organization.pk, name=name, expires_in_days=1
        )
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {raw}"
    # A connection per request: a kept-alive one the server closes after its idle time
    # (`keepalive`) as a request is sent on it fails that request without an answer, a
    # race of the client's pool, not of what these tests measure.
    http.headers["Connection"] = "close"
    adapter = requests.adapters.HTTPAdapter(pool_connections=clients, pool_maxsize=clients)
    http.mount("http://", adapter)
    return http


class StaffBrowser:
    """A person in the admin over HTTP, as a browser: signed in through the login form,
    reading a page's form as the browser would post it back, posting it (its CSRF token
    and referrer sent, redirects not followed)."""

    def __init__(self, live_url: str, email: str = "admin@demo.smartweb.test"):
        self.live_url = live_url
        self.http = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=CLIENTS, pool_maxsize=CLIENTS)
        self.http.mount("http://", adapter)
        login = f"{live_url}/admin/login/"
        self.http.get(login, timeout=30)
        response = self.post(
            "/admin/login/", {"username": email, "password": DEMO_PASSWORD, "next": "/admin/"}
        )
        assert response.status_code == 302 and "sessionid" in self.http.cookies, response.text

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.live_url + path, timeout=60)

    def form(self, path: str, form_id: str | None = None) -> dict[str, list[str]]:
        """The fields of the page's form as a browser posts them."""
        page = self.get(path)
        assert page.status_code == 200, (path, page.status_code)
        return self.form_of(page, form_id)

    @staticmethod
    def form_of(page: requests.Response, form_id: str | None = None) -> dict[str, list[str]]:
        """The fields of a page's form (inlines' blank templates left out, as the admin's
        script keeps them out of the form)."""
        return {k: v for k, v in form_data(page.text, form_id).items() if "__prefix__" not in k}

    def shown(self, answer: requests.Response) -> str:
        """The page a browser shows after `answer` (a redirect followed once)."""
        if answer.is_redirect:
            return self.get(answer.headers["Location"]).text
        return answer.text

    def post(self, path: str, data: dict) -> requests.Response:
        url = self.live_url + path
        return self.http.post(
            url,
            data={**data, "csrfmiddlewaretoken": self.http.cookies["csrftoken"]},
            headers={"Referer": url},
            allow_redirects=False,
            timeout=60,
        )


def at_once(call, arguments=range(CLIENTS)):
    """`call(argument)` for each argument, from eight clients at the same moment; the
    responses in order."""
    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(call, arguments))


def public_form(organization, name: str):
    """A public lead form that asks for an email and records consent to contact."""
    with tenant_context(organization):
        return lead_forms.lead_form_create(
            acting_user=None,
            data={
                "name": name,
                "consent_text": "You may contact me.",
                "consent_purposes": [ConsentPurpose.CONTACT],
                "required_fields": ["contact_email"],
            },
        )


def refused_otherwise(refused: list[tuple[int, dict]], field: str) -> list[dict]:
    """Of the refusals (status, error) of writes racing a change that removes what they
    name, those refused other than as the same request a moment later is (400 at `field`:
    it is no longer there) or as a lost deadlock is, to send again (409, ADR 0010)."""
    return [
        error
        for code, error in refused
        if (code, error["code"]) != (409, "concurrent_change")
        and not (code == 400 and field in error["details"])
    ]
