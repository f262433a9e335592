"""The dashboard page in real headless Chromium (Debian's package) through Playwright.

After a scripted run against the simulator, the page must show what the database holds: the
same figures that ``tiered-router stats --json`` prints. A screenshot is saved to artifacts/.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import openai
import pytest
from click.testing import CliRunner

from tiered_router.cli import main as cli
from tiered_router.demo import demo_settings
from tiered_router.routing import TieredModelRouter
from tiered_router.server.app import create_app
from tiered_router.server.runner import ServerThread

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
KEY = "dashboard-test-key"
SCRIPT = [
    ("auto", "Walk to the next room"),
    ("auto", "Plan the optimal path to become Hortator"),
    ("auto", "Head to the blacksmith. [[sim:refuse@llama3.1:8b]]"),
    ("auto", "Devise a strategy to win the Great House vote. [[sim:http500@hermes3:70b]]"),
    ("cloud", "Summarise the quest log in two sentences."),
]


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"!!! CHROMIUM NOT INSTALLED at {CHROMIUM}: the dashboard browser test did not run "
                    "(make test installs it with apt-get where it can)")
    with sync_api.sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                "--disable-background-networking", "--disable-component-update"])
        except Exception as exc:
            pytest.skip(f"!!! CHROMIUM CANNOT RUN here ({type(exc).__name__}): the dashboard test did not run")
        yield b
        b.close()


@pytest.fixture
def server(simulator, tmp_path, monkeypatch):
    db = str(tmp_path / "dashboard.db")
    monkeypatch.setenv("TIER_DB", db)
    settings = demo_settings(simulator.url, db=db, api_keys=KEY)
    router = TieredModelRouter(settings, sinks=[])
    with ServerThread(create_app(router)) as srv:
        srv.router = router
        yield srv
    router.close()


def test_dashboard_shows_what_the_database_holds(browser, server):
    client = openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0)
    for model, prompt in SCRIPT:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": prompt}])

    # Records are written off the request path, in batches; the stats endpoint flushes both queues.
    flushed = httpx.get(server.url + "/v1/router/stats?since=all", headers={"Authorization": f"Bearer {KEY}"})
    assert flushed.status_code == 200 and flushed.json()["requests"] == len(SCRIPT)
    stats_cli = CliRunner().invoke(cli, ["stats", "--json", "--since", "all"])
    assert stats_cli.exit_code == 0, stats_cli.output
    stats = json.loads(stats_cli.output)
    assert stats["requests"] == len(SCRIPT)

    context = browser.new_context(http_credentials={"username": "me", "password": KEY},
                                  viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(server.url + "/dashboard")
    page.wait_for_selector("body[data-loaded=true]", timeout=15000)

    assert page.inner_text("#kpi-requests b") == str(stats["requests"])
    assert page.inner_text("#kpi-escalated b").startswith(str(stats["escalations"]["count"]))
    for tier in ("1", "2", "3"):
        share = stats["tiers"].get(tier, {}).get("share", 0.0)
        assert page.inner_text(f"#kpi-tier{tier} b") == f"{100 * share:.1f}%"
    assert page.inner_text("#kpi-spend b") == f"{stats['spend']['total_usd']:.6f}"

    daily = stats["budget"]["daily"]
    gauge = page.locator("#gauge-daily")
    assert float(gauge.get_attribute("data-spent-usd")) == pytest.approx(daily["spent_usd"])
    assert float(gauge.get_attribute("data-reserved-usd")) == pytest.approx(daily["reserved_usd"])
    assert page.inner_text("#gauge-daily .spent-usd") == f"${daily['spent_usd']:.6f}"
    assert daily["spent_usd"] > 0
    monthly_limit = float(page.locator("#gauge-monthly").get_attribute("data-limit-usd"))
    assert monthly_limit == stats["budget"]["monthly"]["limit_usd"]

    rows = page.locator("#decisions tbody tr.decision")
    assert rows.count() == len(SCRIPT)
    reasons = page.inner_text("#escalations")
    for top in stats["escalations"]["top_reasons"]:
        assert top["reason"] in reasons

    # Opening the escalated refusal shows both of its attempts.
    refused = page.locator("#decisions tbody tr.decision", has_text="tier1-quality:refusal")
    refused.click()
    request_id = refused.get_attribute("data-request-id")
    attempts = page.locator(f'tr.attempts[data-attempts-for="{request_id}"] tbody tr')
    attempts.first.wait_for(timeout=5000)
    assert attempts.count() == 2
    assert "refusal" in attempts.nth(0).inner_text()

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    context.close()

    anonymous = browser.new_context()
    assert anonymous.request.get(server.url + "/dashboard").status == 401
    assert anonymous.request.get(server.url + "/v1/router/stats").status == 401
    anonymous.close()
