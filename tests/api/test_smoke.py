def test_post_then_get_report(client_a, sample_log):
    response = client_a.post("/api/v1/diagnostics", sample_log)
    assert response.status_code == 202, response.content
    body = response.json()
    log_id = body["log_id"]
    assert response["Location"] == f"/api/v1/reports/{log_id}"
    report = client_a.get(f"/api/v1/reports/{log_id}")
    assert report.status_code in (200, 202), report.content
    print(report.json())
    again = client_a.post("/api/v1/diagnostics", sample_log)
    assert again.status_code == 200
    assert again.json()["log_id"] == log_id
