"""Settings: environment variables (``TIER_*``), an optional TOML file (``TIER_CONFIG``), defaults.

Priority, highest first: arguments to ``Settings(...)``, environment, the TOML file, defaults.
The TOML file uses the same names as the environment without the ``TIER_`` prefix, lower case,
for example ``local_fast_model = "ollama/llama3.1:8b"``.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from . import providers
from .errors import ConfigError
from .paths import default_db_path
from .providers import DEFAULT_OLLAMA_URL
from .tiers import Tier


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model string: which protocol to speak, to whom, for which model."""

    provider: str  # a key of providers.PROVIDERS
    model: str
    base_url: str | None = None  # set when the model string itself carries a URL

    @property
    def entry(self) -> providers.Provider:
        return providers.PROVIDERS[self.provider]

    @property
    def protocol(self) -> str:
        return self.entry.protocol

    @property
    def is_local(self) -> bool:
        return self.entry.local

    def __str__(self) -> str:
        return f"{self.provider}/{self.model}"


def parse_model(value: str, *, local: bool) -> ModelSpec:
    """Parse ``provider/model``, ``URL#model`` (OpenAI-compatible server), or a bare model name.

    A bare name is guessed from its family (claude → anthropic, gpt/o-series → openai,
    grok → xai); anything else is an Ollama model on a local tier.
    """
    text = value.strip()
    if not text:
        raise ValueError("model name is empty")
    if text.startswith(("http://", "https://")):
        url, sep, model = text.partition("#")
        if not sep or not model:
            raise ValueError(f"{text!r}: an OpenAI-compatible URL needs '#MODEL', e.g. http://127.0.0.1:8000/v1#qwen2.5")
        return ModelSpec("openai_compat", model, base_url=_check_url(url))
    provider, sep, model = text.partition("/")
    entry = providers.lookup(provider) if sep else None
    if entry is not None:
        if not model:
            raise ValueError(f"{text!r}: no model after the provider")
        return ModelSpec(entry.name, model)
    lowered = text.lower()
    if lowered.startswith("claude"):
        return ModelSpec("anthropic", text)
    if lowered.startswith(("gpt-", "o1", "o3", "o4", "chatgpt")):
        return ModelSpec("openai", text)
    if lowered.startswith("grok"):
        return ModelSpec("xai", text)
    if local:
        return ModelSpec("ollama", text)
    raise ValueError(f"{text!r}: cannot tell the provider; write it as provider/model, e.g. anthropic/{text}")


def _check_url(url: str) -> str:
    if url != url.strip() or any(ch.isspace() for ch in url):
        raise ValueError(f"{url!r} has spaces in it")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{url!r} is not an http(s) URL")
    try:
        parts.port  # noqa: B018 - reading it checks it
    except ValueError:
        raise ValueError(f"{url!r} has a bad port") from None
    if not parts.hostname:
        raise ValueError(f"{url!r} has no host")
    return url.rstrip("/")


def _check_db(db: str) -> str:
    """A SQLite path must be one this process can create or write; a PostgreSQL URL must be one that could
    ever connect. The server behind it is checked when used (a server that is down at start-up is not a
    configuration error: the cloud waits for it)."""
    if db.startswith(("postgresql://", "postgres://")):
        return _check_postgres_url(db)
    if db.startswith("memory:"):
        return db
    path = Path(db.removeprefix("sqlite:///")).expanduser()
    if path.is_dir():
        raise ValueError(f"{db!r} is a directory, not a database file")
    existed = path.exists()
    try:  # the one sure test (permission bits say nothing to root): create what SQLite will create
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab"):
            pass
    except OSError as exc:
        raise ValueError(f"{db!r} cannot be written by this process ({exc.strerror or exc})") from None
    if not existed:
        path.unlink(missing_ok=True)
    return db


def _check_postgres_url(url: str) -> str:
    """The URL's syntax and ports, which no retry can fix. The messages do not quote the URL: it may hold a
    password."""
    if any(ch.isspace() for ch in url):
        raise ValueError("the PostgreSQL URL has spaces in it (write them as %20)")
    from psycopg import ProgrammingError  # only for a PostgreSQL URL, which needs it anyway
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(url)
    except ProgrammingError:
        raise ValueError("the PostgreSQL URL cannot be parsed") from None
    for port in str(params.get("port") or "").split(","):
        if port and not (port.isdecimal() and 0 < int(port) <= 65535):
            raise ValueError(f"the PostgreSQL URL has a bad port ({port!r})")
    return url


class Settings(BaseSettings):
    """Every knob, with the environment variable that sets it (prefix ``TIER_``)."""

    model_config = SettingsConfigDict(env_prefix="TIER_", extra="ignore", validate_default=True, allow_inf_nan=False)

    local_fast_model: str = "ollama/llama3.1:8b"
    local_heavy_model: str = "ollama/hermes3:70b"
    cloud_model: str = "anthropic/claude-haiku-4-5"

    local_fast_url: str = DEFAULT_OLLAMA_URL
    local_heavy_url: str = DEFAULT_OLLAMA_URL
    cloud_url: str | None = None  # the provider's own API by default
    cloud_api_key: SecretStr | None = None
    cloud_enabled: bool = True

    # Context windows in tokens: a prompt too long for one tier skips to a tier that can hold it.
    local_fast_context: int = Field(8192, ge=256)
    local_heavy_context: int = Field(32768, ge=256)
    cloud_context: int = Field(200000, ge=256)

    # Seconds. Local tiers can be slow to load a model; the whole call is bounded by these.
    local_fast_timeout_s: float = Field(60.0, gt=0)
    local_heavy_timeout_s: float = Field(300.0, gt=0)
    cloud_timeout_s: float = Field(120.0, gt=0)
    connect_timeout_s: float = Field(5.0, gt=0)

    # Classifier operating point: scores at or above these pick tier 2 / tier 3.
    heavy_threshold: float | None = Field(None, ge=0.0, le=1.0)
    cloud_threshold: float | None = Field(None, ge=0.0)

    # Quality gate on these tiers' answers (tier 3 has nowhere to escalate to).
    gate_tiers: tuple[int, ...] = (1, 2)

    # A backend that fails this many times in a row is skipped for cooldown_s.
    cooldown_failures: int = Field(3, ge=1)
    cooldown_s: float = Field(30.0, ge=0)
    # An auth or not-found error (a bad key, a model not pulled yet) skips that backend this long.
    auth_cooldown_s: float = Field(300.0, ge=0)

    # A streamed answer of a tier that may still escalate is held back until this many tokens, or this many
    # milliseconds after its first token, whichever comes first; its head is gated, then the rest streams live.
    # 0 tokens: no hold (such a stream goes out at once, and only a broken stream can still fail it).
    stream_hold_tokens: int = Field(32, ge=0)
    stream_hold_ms: float = Field(1500.0, ge=0)

    # Token confidence: where a gated tier's upstream returns log-probabilities (Ollama, OpenAI-compatible), an
    # answer whose confidence is below this (0..1) is rejected as "low-confidence". Off when unset.
    confidence: float | None = Field(None, gt=0, lt=1)

    # Learning (learn/from_log.py): a server refits the learned classifier on the routing log every
    # TIER_LEARN_EVERY seconds (off when unset) and promotes it only on a replayed gain; every server checks for
    # a newly promoted model every TIER_LEARN_REFRESH_S seconds (replicas on one database share it).
    learn_every: float | None = Field(None, gt=0)
    learn_refresh_s: float = Field(60.0, gt=0)

    # Shadow samples: this share (0..1) of the answers accepted from tier 1 or 2 is also sent, in the background
    # after the answer went out, to the next tier up, and whether the two agree is stored with the request in
    # the routing log (router.shadow). Tier 3 is asked only with shadow_cloud, and is then paid from the budget.
    shadow_rate: float = Field(0.0, ge=0.0, le=1.0)
    shadow_cloud: bool = False
    # Downward shadow samples: this share (0..1) of the accepted answers to requests the classifier started on
    # tier 2 is also tried on tier 1, in the background; whether tier 1 would have done (its answer passes the
    # gate and agrees) is stored with the request (router.shadow_down). Local tiers only.
    shadow_down_rate: float = Field(0.0, ge=0.0, le=1.0)

    # The second opinion: a request scored within this distance of the heavy threshold is answered by tier 1
    # and tier 2 at once; if their answers disagree, the cloud answers. Off when unset or 0.
    verify: float | None = Field(None, ge=0.0, le=1.0)

    # Cloud calls get this max_tokens when the client gave none, so their cost has a bound.
    cloud_max_tokens: int = Field(1024, ge=1)

    cloud_daily_budget_usd: float = Field(5.0, ge=0)
    cloud_monthly_budget_usd: float = Field(50.0, ge=0)
    budget_timezone: str = "UTC"
    budget_fail_open: bool = False
    # Seconds a cloud call's reservation is held for it. One nobody settled by then (its process was killed) is
    # charged at its reserved worst case, never freed; a call still running settles later at its real cost.
    reservation_ttl_s: float = Field(600.0, gt=0)
    # When the router wanted the cloud but the budget is spent: "degrade" returns the best local
    # answer marked degraded; "error" refuses with budget_exceeded. A forced cloud call always errors.
    budget_exhausted: Literal["degrade", "error"] = "degrade"
    # USD per million tokens, {"provider/model" or "model": [input, output]}, over genai-prices.
    price_overrides: dict[str, tuple[float, float]] = Field(default_factory=dict)
    # Optional USD per million tokens [input, output] for local models (power, amortised hardware).
    # Local calls are never reserved against the cloud budget; this only shows in costs and stats.
    local_price_per_mtok: tuple[float, float] | None = None
    db: str = Field(default_factory=lambda: str(default_db_path()))

    # The proxy server. TIER_API_KEYS is a comma-separated list; when set, clients must send one as a bearer token.
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    api_keys: SecretStr | None = None
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    # Seconds a client has to send a request's head, and then its body; beyond them the connection is closed
    # (head) or answered 408 (body). And the most connections and requests served at once (503 beyond).
    client_timeout_s: float = Field(30.0, gt=0)
    max_connections: int = Field(1000, ge=1)

    # Claude model names on the Anthropic front (/v1/messages), matched in order as glob patterns (lower case):
    # a tier name, or "auto" to classify. Other names route as on the OpenAI front.
    claude_models: dict[str, str] = Field(
        default_factory=lambda: {"*haiku*": "tier-1", "*sonnet*": "auto", "*opus*": "auto"})

    # Store prompt and answer text in routing records. Off: only a hash and a length are kept.
    log_content: bool = False
    # Store each request's learning features (hashed n-grams, the heuristic's reasons and score; not the text)
    # so that `tiered-router learn` can learn without TIER_LOG_CONTENT (docs/learning.md says what they reveal).
    log_features: bool = False
    # The routing log (one row per request in the database above): on/off, and its retention.
    log_enabled: bool = True
    log_retention_days: int = Field(30, ge=0)
    log_max_rows: int = Field(100_000, ge=0)

    @field_validator("db")
    @classmethod
    def _db(cls, v: str) -> str:
        return _check_db(v)

    @field_validator("api_keys")
    @classmethod
    def _keys(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and v.get_secret_value().strip() and not any(
                k.strip() for k in v.get_secret_value().split(",")):
            # "," would otherwise mean: no key at all, and authentication silently off.
            raise ValueError("holds no key (a comma-separated list of keys; leave it unset for no auth)")
        return v

    @field_validator("local_fast_url", "local_heavy_url", "cloud_url")
    @classmethod
    def _urls(cls, v: str | None) -> str | None:
        return None if v in (None, "") else _check_url(v)

    @field_validator("local_fast_model", "local_heavy_model")
    @classmethod
    def _local_models(cls, v: str) -> str:
        parse_model(v, local=True)
        return v

    @field_validator("cloud_model")
    @classmethod
    def _cloud_model(cls, v: str) -> str:
        parse_model(v, local=False)
        return v

    @field_validator("budget_timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {v!r}, e.g. UTC or Europe/Berlin") from None
        return v

    @field_validator("claude_models")
    @classmethod
    def _claude_models(cls, v: dict[str, str]) -> dict[str, str]:
        for pattern, target in v.items():
            if target != "auto":
                try:
                    Tier.parse(target)
                except ValueError as exc:
                    raise ValueError(f"{pattern!r}: {exc} or auto") from None
        return v

    @field_validator("gate_tiers")
    @classmethod
    def _gate_tiers(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(int(Tier.parse(t)) for t in v)

    @model_validator(mode="after")
    def _ordered_thresholds(self) -> Settings:
        if (
            self.heavy_threshold is not None
            and self.cloud_threshold is not None
            and self.cloud_threshold < self.heavy_threshold
        ):
            raise ValueError("cloud_threshold must not be below heavy_threshold")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = os.environ.get("TIER_CONFIG")
        if path:
            if not Path(path).is_file():
                raise ConfigError(f"TIER_CONFIG: no such file {path!r}")
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    # --- derived views -------------------------------------------------------------------

    def client_keys(self) -> list[str]:
        raw = self.api_keys.get_secret_value() if self.api_keys else ""
        return [k.strip() for k in raw.split(",") if k.strip()]

    def model_spec(self, tier: Tier) -> ModelSpec:
        return {
            Tier.LOCAL_FAST: lambda: parse_model(self.local_fast_model, local=True),
            Tier.LOCAL_HEAVY: lambda: parse_model(self.local_heavy_model, local=True),
            Tier.CLOUD_API: lambda: parse_model(self.cloud_model, local=False),
        }[tier]()

    def base_url(self, tier: Tier) -> str:
        spec = self.model_spec(tier)
        if spec.base_url:
            return spec.base_url
        configured = {
            Tier.LOCAL_FAST: self.local_fast_url,
            Tier.LOCAL_HEAVY: self.local_heavy_url,
            Tier.CLOUD_API: self.cloud_url,
        }[tier]
        if configured:
            return configured
        return spec.entry.default_url or DEFAULT_OLLAMA_URL

    def context_window(self, tier: Tier) -> int:
        return {
            Tier.LOCAL_FAST: self.local_fast_context,
            Tier.LOCAL_HEAVY: self.local_heavy_context,
            Tier.CLOUD_API: self.cloud_context,
        }[tier]

    def timeout_s(self, tier: Tier) -> float:
        return {
            Tier.LOCAL_FAST: self.local_fast_timeout_s,
            Tier.LOCAL_HEAVY: self.local_heavy_timeout_s,
            Tier.CLOUD_API: self.cloud_timeout_s,
        }[tier]

    def api_key(self, tier: Tier) -> str | None:
        """The key for a tier: TIER_CLOUD_API_KEY for the cloud, else the provider's usual variable."""
        spec = self.model_spec(tier)
        if tier is Tier.CLOUD_API and self.cloud_api_key is not None:
            return self.cloud_api_key.get_secret_value() or None
        env = spec.entry.key_env
        return (os.environ.get(env) or None) if env else None


def load_settings(**overrides: Any) -> Settings:
    """Build Settings. Every problem is one ConfigError that names the variable (or the TOML key)."""
    _check_toml_keys()
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "settings"
            env = f"TIER_{field.upper()}" if err["loc"] else "settings"
            problems.append(f"{env}: {err['msg'].removeprefix('Value error, ')}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"TIER_CONFIG: {os.environ.get('TIER_CONFIG')} is not valid TOML: {exc}") from None
    except SettingsError as exc:  # a JSON-valued variable that is not JSON
        match = re.search(r'field "(\w+)"', str(exc))
        name = f"TIER_{match.group(1).upper()}" if match else "a TIER_ variable"
        cause = exc.__cause__ or exc
        raise ConfigError(f"{name}: not valid JSON ({cause})") from None


def _check_toml_keys() -> None:
    """A key of the TOML file that is no setting is a mistake (a misspelt key would be ignored otherwise)."""
    path = os.environ.get("TIER_CONFIG")
    if not path or not Path(path).is_file():
        return
    try:
        data = tomllib.loads(Path(path).read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"TIER_CONFIG: {path} is not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"TIER_CONFIG: {path} cannot be read: {exc}") from None
    known = list(Settings.model_fields)
    for key in data:
        if key not in Settings.model_fields:
            near = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ConfigError(f"TIER_CONFIG: {path}: unknown key {key!r}{hint}")
