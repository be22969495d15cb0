"""Settings for IBKR Desk, read from the environment (prefix ``IBKR_``) and an optional ``.env`` file.

Every knob of the dashboard, the library and the embedded simulator lives here, so a deployment is
configured in one place. See the table in README.md.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewayMode(StrEnum):
    """How the gateway is run: the embedded simulator, IBKR's gateway started by us, or someone else's."""

    SIM = "sim"
    LOCAL = "local"
    EXTERNAL = "external"


class Settings(BaseSettings):
    """IBKR Desk settings. Every field can be set as ``IBKR_<NAME>`` in the environment or in ``.env``."""

    model_config = SettingsConfigDict(
        env_prefix="IBKR_", env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    gateway_mode: GatewayMode = Field(
        GatewayMode.SIM,
        description="sim: start the embedded simulator; local: start IBKR's gateway from gateway_dir; "
        "external: use a gateway someone else runs",
    )
    gateway_url: str = Field("https://localhost:5000", description="Gateway origin; the API is under /v1/api")
    gateway_dir: Path | None = Field(None, description="The unpacked clientportal.gw folder, for local mode")
    login_url: str | None = Field(None, description="Where a person logs in; defaults to the gateway origin")
    verify_ssl: bool | Path = Field(
        False, description="true, false, or a path to a CA/cert file; in sim mode the simulator's cert is pinned"
    )
    tickle_seconds: float = Field(60.0, gt=0, description="Keep-alive interval")
    refresh_seconds: float = Field(30.0, gt=0, description="Dashboard auto-refresh interval")
    trading_enabled: bool = Field(False, description="The order ticket submits only when true")
    request_timeout: float = Field(10.0, gt=0, description="Seconds before a gateway request times out")
    margin_warning_pct: float = Field(70.0, ge=0, le=100, description="Margin utilisation warning threshold, %")
    margin_danger_pct: float = Field(90.0, ge=0, le=100, description="Margin utilisation danger threshold, %")

    sim_seed: int = Field(7, description="Seed of the simulated world")
    sim_accounts: int = Field(3, ge=1, le=50, description="Number of simulated accounts")
    sim_positions: int = Field(20, ge=1, description="Approximate positions per simulated account")
    sim_auto_login: bool = Field(False, description="Simulator starts with an authenticated session")
    sim_idle_timeout: float = Field(300.0, gt=0, description="Simulator session idle timeout, seconds")
    sim_user: str = Field("demo", description="Simulator login user")
    sim_password: SecretStr = Field(SecretStr("demo"), description="Simulator login password")
    sim_cert_dir: Path | None = Field(None, description="Where the simulator keeps cert.pem/key.pem")
    sim_tick_seconds: float = Field(5.0, ge=0, description="Seconds between simulated price moves; 0 freezes")
    sim_penalty_seconds: float = Field(600.0, ge=0, description="Simulator's 429 penalty box after a pacing breach")

    @field_validator("gateway_url")
    @classmethod
    def _origin_only(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"IBKR_GATEWAY_URL must look like https://host:port, got {value!r}")
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("verify_ssl", mode="before")
    @classmethod
    def _parse_verify(cls, value: object) -> bool | Path:
        if isinstance(value, bool | Path):
            return value
        text = str(value).strip()
        if text.lower() in ("true", "1", "yes", "on"):
            return True
        if text.lower() in ("false", "0", "no", "off", ""):
            return False
        return Path(text).expanduser()

    @property
    def api_base(self) -> str:
        """The REST root, ``<gateway_url>/v1/api``."""
        return f"{self.gateway_url}/v1/api"

    @property
    def gateway_port(self) -> int:
        parts = urlsplit(self.gateway_url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def gateway_host(self) -> str:
        return urlsplit(self.gateway_url).hostname or "localhost"

    @property
    def effective_login_url(self) -> str:
        """The page a person opens to log in to the gateway."""
        return self.login_url or f"{self.gateway_url}/"
