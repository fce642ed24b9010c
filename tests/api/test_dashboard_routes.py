"""The dashboard's single-page app on the API's origin (config/frontend.py): its routes answer index.html,
never cached; other paths keep the 404 in the error shape; without a build, a 503 that says how to build."""

import pytest

INDEX = b'<!doctype html><html><body><div id="root"></div></body></html>'
ROUTES = [
    "/",
    "/login",
    "/alerts",
    "/logs/0c3f",
    "/vehicles/EV-1",
    "/vehicles/EV-1/certificate",
    "/vehicles/EV-1/cells/7",
]


@pytest.fixture
def built(settings, tmp_path):  # type: ignore[no-untyped-def]
    (tmp_path / "index.html").write_bytes(INDEX)
    settings.FRONTEND_DIST = tmp_path
    return tmp_path


@pytest.mark.parametrize("path", ROUTES)
def test_app_routes_answer_index_html(anon, built, path):
    response = anon.get(path)
    assert response.status_code == 200
    assert response.content == INDEX
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.parametrize("path", ["/nope", "/vehicles/EV-1/extra", "/logs", "/assets/missing.js", "/api/v1/nope"])
def test_other_paths_stay_404_in_the_error_shape(anon, assert_error, built, path):
    assert_error(anon.get(path), 404, "not_found")


def test_app_route_refuses_post(anon, built):
    assert anon.post("/alerts").status_code == 405


def test_without_a_build_the_app_says_how_to_build_it(anon, settings, tmp_path):
    settings.FRONTEND_DIST = tmp_path / "missing"
    response = anon.get("/vehicles/EV-1")
    assert response.status_code == 503
    assert b"make frontend" in response.content
    assert b"Node.js" in response.content


def test_api_is_still_json_next_to_the_app(anon, built):
    response = anon.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
