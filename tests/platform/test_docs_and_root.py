"""The root leads to the back office; the API docs are served from this server alone,
their operations grouped by resource."""

import re

import pytest

# Any absolute URL in a page: a script, a style or a font fetched from elsewhere.
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)
ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+\.(?:js|css|png))["']""")


@pytest.mark.django_db
def test_the_root_redirects_to_the_admin(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_load_every_file_from_this_server(client, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assets = ASSET.findall(html)
    assert assets, "the page names its scripts"
    for asset in assets:
        assert asset.startswith("/static/drf_spectacular_sidecar/"), asset
        assert client.get(asset).status_code == 200, asset


@pytest.mark.django_db
def test_operations_are_grouped_by_resource(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    tags = {path: op["tags"] for path, item in schema["paths"].items() for op in item.values()}
    assert tags["/api/v1/leads/"] == ["leads"]
    assert tags["/api/v1/proposals/{id}/send/"] == ["proposals"]
    assert tags["/api/v1/compliance/requests/"] == ["compliance"]
    assert "v1" not in {tag for names in tags.values() for tag in names}
