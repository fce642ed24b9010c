"""The OpenAPI schema is generated from the code and describes every response, errors included."""

import yaml


def test_schema_is_served_without_auth_and_lists_every_endpoint(anon):
    response = anon.get("/api/v1/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert set(schema["paths"]) == {
        "/api/v1/auth/token",
        "/api/v1/auth/token/refresh",
        "/api/v1/diagnostics",
        "/api/v1/diagnostics/bulk",
        "/api/v1/diagnostics/{log_id}",
        "/api/v1/reports/{log_id}",
        "/api/v1/reports",
        "/api/v1/reports.csv",
        "/api/v1/vehicles",
        "/api/v1/vehicles/{vehicle_id}",
        "/api/v1/vehicles/{vehicle_id}/reports",
        "/api/v1/fleet/summary",
        "/api/v1/fleet/anomaly-timeline",
        "/api/v1/vehicles/{vehicle_id}/health",
        "/api/v1/vehicles/{vehicle_id}/certificate.pdf",
        "/api/v1/vehicles/{vehicle_id}/cells",
        "/api/v1/vehicles/{vehicle_id}/cells/{cell_id}/history",
        "/api/v1/vehicles/{vehicle_id}/credentials",
        "/api/v1/vehicles/{vehicle_id}/credentials/{credential_id}",
        "/api/v1/alerts",
        "/api/v1/alerts/{alert_id}",
        "/api/v1/alerts/{alert_id}/acknowledge",
        "/api/v1/alerts/{alert_id}/resolve",
        "/api/v1/webhooks",
        "/api/v1/webhooks/{webhook_id}",
        "/api/v1/webhooks/{webhook_id}/deliveries",
        "/api/v1/vocabulary",
    }
    ingest = schema["paths"]["/api/v1/diagnostics"]["post"]["responses"]
    assert {"200", "202", "400", "401", "403", "409", "413", "415", "429", "503"} <= set(ingest)
    report = schema["paths"]["/api/v1/reports/{log_id}"]["get"]["responses"]
    assert {"200", "202", "401", "404"} <= set(report)
    assert schema["components"]["schemas"]["Error"]["required"] == ["error"]


def test_the_device_scheme_is_offered_on_the_ingest_posts_only(anon):
    schema = yaml.safe_load(anon.get("/api/v1/schema/").content)
    device = schema["components"]["securitySchemes"]["deviceToken"]
    assert (device["type"], device["in"], device["name"]) == ("apiKey", "header", "Authorization")
    with_device = {
        (path, method)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if {"deviceToken": []} in operation.get("security", [])
    }
    assert with_device == {("/api/v1/diagnostics", "post"), ("/api/v1/diagnostics/bulk", "post")}
    credentials = schema["paths"]["/api/v1/vehicles/{vehicle_id}/credentials"]
    assert {"201", "400", "401", "403", "404", "429"} <= set(credentials["post"]["responses"])
    assert {"200", "401", "403", "404"} <= set(credentials["get"]["responses"])
    revoke = schema["paths"]["/api/v1/vehicles/{vehicle_id}/credentials/{credential_id}"]["delete"]
    assert {"204", "401", "403", "404"} <= set(revoke["responses"])


def test_interactive_docs_page(anon):
    response = anon.get("/api/v1/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def test_refresh_answer_names_access_and_refresh_as_required(anon):
    schema = yaml.safe_load(anon.get("/api/v1/schema/").content)
    refreshed = schema["components"]["schemas"]["TokenRefreshed"]
    assert set(refreshed["properties"]) == {"access", "refresh"}
    assert sorted(refreshed["required"]) == ["access", "refresh"]


def test_405_406_and_503_are_described_with_their_codes(anon):
    schema = yaml.safe_load(anon.get("/api/v1/schema/").content)
    ingest = schema["paths"]["/api/v1/diagnostics"]["post"]["responses"]
    assert "method_not_allowed" in ingest["405"]["description"]
    assert "not_acceptable" in ingest["406"]["description"]
    assert "service_unavailable" in ingest["503"]["description"]


def test_every_list_describes_its_paging_and_filter_parameters_and_the_400(anon):
    schema = yaml.safe_load(anon.get("/api/v1/schema/").content)
    expected = {
        "/api/v1/vehicles": {"limit", "cursor", "profile", "anomaly", "soh_lt", "soh_gte", "ordering"},
        "/api/v1/vehicles/{vehicle_id}/reports": {"limit", "cursor", "since", "until", "anomaly"},
        "/api/v1/reports": {"limit", "cursor", "since", "until", "anomaly", "vehicle_id", "soh_lt"},
        "/api/v1/reports.csv": {"since", "until", "anomaly", "vehicle_id", "soh_lt"},
        "/api/v1/fleet/summary": {"window"},
        "/api/v1/fleet/anomaly-timeline": {"days"},
    }
    for path, parameters in expected.items():
        operation = schema["paths"][path]["get"]
        assert {p["name"] for p in operation["parameters"] if p["in"] == "query"} == parameters, path
        assert "400" in operation["responses"], path
    assert "text/csv" in schema["paths"]["/api/v1/reports.csv"]["get"]["responses"]["200"]["content"]
    put = schema["paths"]["/api/v1/vehicles/{vehicle_id}"]["put"]["responses"]
    assert {"200", "201", "400", "403", "409"} <= set(put)
