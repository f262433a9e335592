from __future__ import annotations

import pytest

from tiered_router.config import load_settings, parse_model
from tiered_router.errors import ConfigError
from tiered_router.tiers import Tier


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    import os

    for key in list(os.environ):
        if key.startswith("TIER_") or key.endswith("_API_KEY"):
            monkeypatch.delenv(key)


def test_defaults_match_the_documented_ones():
    s = load_settings()
    assert str(s.model_spec(Tier.LOCAL_FAST)) == "ollama/llama3.1:8b"
    assert str(s.model_spec(Tier.LOCAL_HEAVY)) == "ollama/hermes3:70b"
    assert str(s.model_spec(Tier.CLOUD_API)) == "anthropic/claude-haiku-4-5"
    assert s.base_url(Tier.LOCAL_FAST) == "http://127.0.0.1:11434"
    assert s.base_url(Tier.CLOUD_API) == "https://api.anthropic.com"
    assert (s.cloud_daily_budget_usd, s.cloud_monthly_budget_usd) == (5.0, 50.0)
    assert s.db.endswith("tiered-router.db")


def test_environment_sets_models_urls_and_keys(monkeypatch):
    monkeypatch.setenv("TIER_LOCAL_FAST_MODEL", "ollama/qwen2.5:3b")
    monkeypatch.setenv("TIER_CLOUD_MODEL", "openai/gpt-4o")
    monkeypatch.setenv("TIER_LOCAL_HEAVY_URL", "http://10.0.0.5:11434")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    s = load_settings()
    assert s.model_spec(Tier.LOCAL_FAST).model == "qwen2.5:3b"
    assert s.base_url(Tier.LOCAL_HEAVY) == "http://10.0.0.5:11434"
    assert s.base_url(Tier.CLOUD_API) == "https://api.openai.com/v1"
    assert s.api_key(Tier.CLOUD_API) == "sk-openai"
    monkeypatch.setenv("TIER_CLOUD_API_KEY", "sk-override")
    assert load_settings().api_key(Tier.CLOUD_API) == "sk-override"


def test_toml_file_is_read_and_environment_wins(tmp_path, monkeypatch):
    path = tmp_path / "tier.toml"
    path.write_text('cloud_model = "xai/grok-4"\ncloud_daily_budget_usd = 2.5\nheavy_threshold = 0.4\n')
    monkeypatch.setenv("TIER_CONFIG", str(path))
    monkeypatch.setenv("TIER_CLOUD_DAILY_BUDGET_USD", "1.25")
    s = load_settings()
    assert s.model_spec(Tier.CLOUD_API).provider == "xai"
    assert s.base_url(Tier.CLOUD_API) == "https://api.x.ai/v1"
    assert s.heavy_threshold == 0.4
    assert s.cloud_daily_budget_usd == 1.25


@pytest.mark.parametrize(
    ("env", "value", "named"),
    [
        ("TIER_LOCAL_FAST_URL", "not a url", "TIER_LOCAL_FAST_URL"),
        ("TIER_CLOUD_DAILY_BUDGET_USD", "-1", "TIER_CLOUD_DAILY_BUDGET_USD"),
        ("TIER_BUDGET_TIMEZONE", "Mars/Olympus", "TIER_BUDGET_TIMEZONE"),
        ("TIER_CLOUD_MODEL", "mystery-model", "TIER_CLOUD_MODEL"),
        ("TIER_HEAVY_THRESHOLD", "1.5", "TIER_HEAVY_THRESHOLD"),
    ],
)
def test_bad_configuration_names_the_setting(monkeypatch, env, value, named):
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError, match=named):
        load_settings()


def test_missing_config_file_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("TIER_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="TIER_CONFIG"):
        load_settings()


@pytest.mark.parametrize(
    ("text", "local", "provider", "model", "url"),
    [
        ("ollama/llama3.1:8b", True, "ollama", "llama3.1:8b", None),
        ("llama3.1:8b", True, "ollama", "llama3.1:8b", None),
        ("anthropic/claude-haiku-4-5", False, "anthropic", "claude-haiku-4-5", None),
        ("claude-sonnet-4-5", False, "anthropic", "claude-sonnet-4-5", None),
        ("gpt-4o", False, "openai", "gpt-4o", None),
        ("xai/grok-4", False, "xai", "grok-4", None),
        ("http://127.0.0.1:8000/v1#qwen2.5", True, "openai_compat", "qwen2.5", "http://127.0.0.1:8000/v1"),
    ],
)
def test_parse_model(text, local, provider, model, url):
    spec = parse_model(text, local=local)
    assert (spec.provider, spec.model, spec.base_url) == (provider, model, url)


def test_tier_names_parse():
    assert Tier.parse("tier-1") is Tier.LOCAL_FAST
    assert Tier.parse("LOCAL_HEAVY") is Tier.LOCAL_HEAVY
    assert Tier.parse("cloud") is Tier.CLOUD_API
    assert Tier.parse(3) is Tier.CLOUD_API
    with pytest.raises(ValueError, match="not a tier"):
        Tier.parse("tier-9")


@pytest.mark.parametrize(("env", "named"), [
    ({"TIER_PRICE_OVERRIDES": "{bad"}, "TIER_PRICE_OVERRIDES"),
    ({"TIER_CLOUD_MONTHLY_BUDGET_USD": "inf"}, "TIER_CLOUD_MONTHLY_BUDGET_USD"),
    ({"TIER_CLOUD_DAILY_BUDGET_USD": "nan"}, "TIER_CLOUD_DAILY_BUDGET_USD"),
    ({"TIER_LOCAL_FAST_URL": "http://host:99999"}, "TIER_LOCAL_FAST_URL"),
    ({"TIER_LOCAL_HEAVY_URL": "http://ollama host:11434"}, "TIER_LOCAL_HEAVY_URL"),
    ({"TIER_API_KEYS": ","}, "TIER_API_KEYS"),
    ({"TIER_DB": "/proc/no-such-place/ledger.db"}, "TIER_DB"),
    ({"TIER_DB": "postgresql://router@127.0.0.1:99999/ledger"}, "TIER_DB"),  # no server can have that port
    ({"TIER_DB": "postgresql://router@db host/ledger"}, "TIER_DB"),
])
def test_every_bad_setting_is_one_line_naming_it_and_exit_2(monkeypatch, env, named):
    from click.testing import CliRunner

    from tiered_router.cli import main

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match=named):
        load_settings()
    result = CliRunner().invoke(main, ["route", "hi"])
    assert result.exit_code == 2 and named in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_toml_mistakes_name_the_file_and_the_key(monkeypatch, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('local_fast_model = "ollama/x"\nlocal_fast_modle = "ollama/y"\n')
    monkeypatch.setenv("TIER_CONFIG", str(bad))
    with pytest.raises(ConfigError, match="unknown key 'local_fast_modle'; did you mean 'local_fast_model'"):
        load_settings()
    bad.write_text("local_fast_model = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings()


def test_a_postgres_server_that_is_down_is_not_a_configuration_error():
    assert load_settings(db="postgresql://nobody@127.0.0.1:9/ledger").db.startswith("postgresql://")
