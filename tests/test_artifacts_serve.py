"""Artifacts on a real ``jetnb serve``: the example ``notebooks/export_orders.ipynb`` (a CSV, a PNG chart, an HTML
page) run through the API, its artifacts listed and downloaded through the API (answers checked against the OpenAPI
document, headers that keep a browser from running them), the run page and its links, ``ServerClient`` and a widget
following a server run, and the CLI on the server's store. One browser test downloads from the run page."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import requests
from openapi_core import OpenAPI

from conftest import REPO
from servekit import TOKEN, wait_for
from test_openapi import Checked

EXPORT = REPO / "notebooks" / "export_orders.ipynb"
EXPECTED = {"orders.csv": "text/csv", "revenue.png": "image/png", "summary.html": "text/html"}


@pytest.fixture
def exported(server):
    """A server that ran export_orders once (through the API); its run id."""
    srv = server()
    shutil.copy(EXPORT, srv.notebooks / "export_orders.ipynb")
    srv.start()
    started = srv.api("POST", "/api/workflows/export-orders/runs", json={"params": {"min_total": 10}})
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]
    wait_for(lambda: srv.run(run_id)["status"] in ("succeeded", "failed"), "the export run", timeout=180)
    assert srv.run(run_id)["status"] == "succeeded", srv.run(run_id)["error"]
    return srv, run_id


def test_the_api_lists_and_serves_artifacts_safely(exported):
    srv, run_id = exported
    spec = OpenAPI.from_dict({**srv.api("GET", "/api/openapi.json").json(), "servers": [{"url": srv.url}]})
    check = Checked(srv, spec)
    listed = check.api("GET", f"/api/runs/{run_id}/artifacts", 200).json()
    assert listed["run_id"] == run_id
    assert {a["name"]: a["mime"] for a in listed["artifacts"]} == EXPECTED
    assert [a["url"] for a in listed["artifacts"]] == [f"/api/runs/{run_id}/artifacts/{n}" for n in EXPECTED]
    detail = check.api("GET", f"/api/runs/{run_id}", 200).json()
    assert [a["name"] for a in detail["artifacts"]] == list(EXPECTED)
    descriptions = {a["name"]: a["description"] for a in listed["artifacts"]}
    assert descriptions["orders.csv"] == "3 orders of at least 10.0"

    for artifact in listed["artifacts"]:
        answer = check.api("GET", artifact["url"], 200)
        assert hashlib.sha256(answer.content).hexdigest() == artifact["sha256"]
        assert int(answer.headers["Content-Length"]) == artifact["size"] == len(answer.content)
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Content-Security-Policy"].startswith("sandbox;")
        assert answer.headers["ETag"] == f'"{artifact["sha256"]}"'
        assert answer.headers["Content-Disposition"] == (
            f"attachment; filename=\"{artifact['name']}\"; filename*=UTF-8''{artifact['name']}")
    csv = srv.api("GET", f"/api/runs/{run_id}/artifacts/orders.csv")
    assert csv.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert csv.text.splitlines() == ["id,customer,total", "1001,Ada,42.5", "1002,Grace,19.99", "1004,Lin,88.0"]
    png = srv.api("GET", f"/api/runs/{run_id}/artifacts/revenue.png", params={"inline": "1"})
    assert png.headers["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG")
    assert png.headers["Content-Disposition"].startswith("inline; ")  # a passive type may be shown
    html = srv.api("GET", f"/api/runs/{run_id}/artifacts/summary.html", params={"inline": "1"})
    assert html.headers["Content-Type"] == "text/html; charset=utf-8"
    assert html.headers["Content-Disposition"].startswith("attachment; ")  # never inline, even when asked
    assert "<h1>3 orders</h1>" in html.text

    missing = check.api("GET", f"/api/runs/{run_id}/artifacts/nope.csv", 404).json()
    assert missing["error"] == (f"run {run_id} has no artifact 'nope.csv' (it has: orders.csv, revenue.png, "
                                "summary.html)")
    check.api("GET", f"/api/runs/{run_id}/artifacts/..%2F..%2Fjetnb.db", 404)
    check.api("GET", "/api/runs/nope/artifacts", 404)
    check.api("GET", "/api/runs/nope/artifacts/orders.csv", 404)
    check.api("GET", f"/api/runs/{run_id}/artifacts", 401, token="wrong")
    assert srv.api("GET", f"/api/runs/{run_id}/artifacts/orders.csv", token=None).status_code == 401
    assert ("GET", 200) in check.seen and ("GET", 404) in check.seen


def test_the_run_page_links_them_for_a_signed_in_person(exported):
    srv, run_id = exported
    session = requests.Session()
    page = session.get(f"{srv.url}/ui/runs/{run_id}", params={"token": TOKEN}, timeout=30)  # signs in
    assert page.status_code == 200 and "<h2>Artifacts</h2>" in page.text
    for name in EXPECTED:
        assert f'href="/ui/runs/{run_id}/artifacts/{name}" download="{name}">{name}</a>' in page.text
    assert "3 orders of at least 10.0" in page.text
    got = session.get(f"{srv.url}/ui/runs/{run_id}/artifacts/summary.html", timeout=30)
    assert got.status_code == 200 and got.headers["Content-Disposition"].startswith("attachment; ")
    assert got.headers["Content-Security-Policy"].startswith("sandbox;")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    stranger = requests.get(f"{srv.url}/ui/runs/{run_id}/artifacts/orders.csv", timeout=30, allow_redirects=False)
    assert stranger.status_code == 302 and stranger.headers["Location"].startswith("/ui/login?")
    assert session.get(f"{srv.url}/ui/runs/{run_id}/artifacts/nope", timeout=30).status_code == 404


def test_server_client_widget_and_cli_on_the_servers_store(exported, tmp_path):
    from jetnb.client import ServerClient
    from jetnb.widgets import RunButton

    srv, run_id = exported
    client = ServerClient(srv.url, TOKEN)
    tmp_path = tmp_path / "downloads"
    tmp_path.mkdir()
    assert [a["name"] for a in client.list_artifacts(run_id)] == list(EXPECTED)
    saved = client.download_artifact(run_id, "orders.csv", tmp_path)
    assert saved == tmp_path / "orders.csv" and saved.read_text().startswith("id,customer,total")
    renamed = client.download_artifact(run_id, "revenue.png", tmp_path / "chart.png")
    assert renamed.read_bytes().startswith(b"\x89PNG")
    with pytest.raises(LookupError, match="has no artifact 'x.csv'"):
        client.download_artifact(run_id, "x.csv", tmp_path)
    assert not (tmp_path / "x.csv").exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "chart.png", "orders.csv"]  # nothing half-written
    assert client.artifact_link(run_id, "orders.csv") == f"{srv.url}/ui/runs/{run_id}/artifacts/orders.csv"

    finished = []
    button = RunButton(srv.notebooks / "export_orders.ipynb", {"min_total": 50}, client=client,
                       on_finished=finished.append)
    button.button.click()
    run = wait_for(lambda: finished and finished[0], "on_finished", timeout=180)
    assert run["status"] == "succeeded" and run["trigger"] == "api"
    assert [a["name"] for a in run["artifacts"]] == list(EXPECTED)
    shown = button.status.markdown
    for name in EXPECTED:
        assert f"[⬇ {name}]({srv.url}/ui/runs/{run['id']}/artifacts/{name})" in shown
    listed = srv.cli("artifacts", run["id"], "--json")
    assert [a["name"] for a in json.loads(listed.stdout)] == list(EXPECTED)
    out = srv.cli("artifacts", run["id"], "orders.csv", "-o", str(tmp_path / "cli.csv"))
    assert out.returncode == 0 and (tmp_path / "cli.csv").read_text().splitlines() == ["id,customer,total",
                                                                                        "1004,Lin,88.0"]


@pytest.mark.slow
def test_the_run_page_download_link_in_chromium(exported, tmp_path):
    from browser import chromium

    srv, run_id = exported
    with chromium(tmp_path) as browser:
        page = browser.new_page()  # Playwright contexts accept downloads by default
        page.goto(f"{srv.url}/ui/runs/{run_id}?token={TOKEN}")
        links = page.locator("#artifacts a.artifact")
        assert links.all_inner_texts() == list(EXPECTED)
        for name in ("orders.csv", "summary.html"):
            with page.expect_download(timeout=60_000) as info:
                page.click(f"#artifacts a.artifact:text-is('{name}')")
            download = info.value
            assert download.suggested_filename == name
            path = Path(download.path())
            assert path.read_bytes() == srv.api("GET", f"/api/runs/{run_id}/artifacts/{name}").content
        assert page.url == f"{srv.url}/ui/runs/{run_id}"  # the page stayed; nothing was rendered in it


@pytest.mark.slow
def test_the_jupyterlab_server_extension_lists_and_serves_them(tmp_path):
    """A real JupyterLab (no browser): its run view lists the artifacts and its API serves each as jetnb serve does."""
    from browser import jupyterlab
    from conftest import notebook

    root, home = tmp_path / "root", tmp_path / "home"
    root.mkdir()
    home.mkdir()
    notebook(["%load_ext jetnb", "%%workflow\nname: lab-export",
              "%%step save\nimport jetnb\njetnb.artifact('report.svg', '<svg xmlns=\"http://www.w3.org/2000/svg\"/>')\n"
              "jetnb.artifact('rows.csv', 'a,b\\n1,2\\n')"], root / "export.ipynb")
    with jupyterlab(root, home) as lab:
        session = requests.Session()
        session.headers["Authorization"] = f"token {lab.token}"
        sidebar, api = f"{lab.url}/jetnb/lab", f"{lab.url}/jetnb/api"
        started = session.post(f"{sidebar}/notebook/runs", json={"path": "export.ipynb"}, timeout=60)
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]
        view = wait_for(lambda: (v := session.get(f"{sidebar}/runs/{run_id}", timeout=60).json())["status"] in (
            "succeeded", "failed") and v, "the Lab's run", timeout=180)
        assert view["status"] == "succeeded", view["error"]
        assert [(a["name"], a["mime"], a["step"]) for a in view["artifacts"]] == [
            ("report.svg", "image/svg+xml", "save"), ("rows.csv", "text/csv", "save")]
        svg = session.get(f"{api}/runs/{run_id}/artifacts/report.svg", timeout=60)
        assert svg.status_code == 200 and svg.content.startswith(b"<svg")
        assert svg.headers["Content-Type"] == "image/svg+xml; charset=utf-8"
        assert svg.headers["Content-Disposition"].startswith("attachment; ")
        assert svg.headers["X-Content-Type-Options"] == "nosniff"
        assert svg.headers["Content-Security-Policy"].startswith("sandbox;")
        csv = session.get(f"{api}/runs/{run_id}/artifacts/rows.csv", timeout=60)
        assert csv.headers["Content-Type"] == "text/csv; charset=utf-8" and csv.text == "a,b\n1,2\n"
        missing = session.get(f"{api}/runs/{run_id}/artifacts/nope.txt", timeout=60)
        assert missing.status_code == 404 and "has no artifact 'nope.txt'" in missing.json()["error"]
        stranger = requests.get(f"{api}/runs/{run_id}/artifacts/rows.csv", timeout=60)
        assert stranger.status_code == 403  # Jupyter's authentication, as for every sidebar call
