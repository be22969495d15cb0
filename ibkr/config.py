"""Settings for IBKR Desk, read from the environment (prefix ``IBKR_``) and an optional ``.env`` file.

Every knob of the dashboard, the library and the embedded simulator lives here, so a deployment is
configured in one place: :class:`Settings` (``IBKR_*``) with the simulator's own area nested in it,
:class:`SimSettings` (``IBKR_SIM_*``). See the table in README.md.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

if TYPE_CHECKING:
    from ibkr.orders.limits import OrderLimits


class GatewayMode(StrEnum):
    """How the gateway is run: the embedded simulator, IBKR's gateway started by us, or someone else's."""

    SIM = "sim"
    LOCAL = "local"
    EXTERNAL = "external"


class GatewayKeeper(StrEnum):
    """Who keeps the gateway's session alive for the dashboard (``IBKR_GATEWAY_KEEPER``).

    One gateway must have one keeper: two would tickle and validate twice (past IBKR's pacing, whose breach is a
    10-15 minute penalty box) and both would restart a gateway that went away. ``service``: the gateway service
    (``python -m ibkr.gateway start``, deploy/systemd) keeps it and the dashboard only follows it, never starting
    a gateway; ``auto``: the dashboard follows such a service when one runs for the port as its manager starts,
    and otherwise keeps the session itself.
    """

    AUTO = "auto"
    SERVICE = "service"


def default_sim_cert_dir() -> Path:
    """A per-user cache folder: ``$XDG_CACHE_HOME/ibkr-desk/sim`` (``~/.cache/ibkr-desk/sim``)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "ibkr-desk" / "sim"


class SimSettings(BaseSettings):
    """The simulated gateway's settings, ``IBKR_SIM_<NAME>``; declared once, here.

    ``python -m ibkr_sim`` builds its command line from these fields (``--positions 5000``, ``--no-pacing``), the
    gateway manager starts it with :meth:`argv`, and the dashboard pins :attr:`cert_path`.
    """

    model_config = SettingsConfigDict(
        env_prefix="IBKR_SIM_", env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    seed: int = Field(7, description="seed of the simulated world")
    accounts: int = Field(3, ge=1, le=50, description="number of simulated accounts (different base currencies)")
    positions: int = Field(20, ge=1, description="positions per account (scales to 10,000 and more)")
    subaccounts: int = Field(0, ge=0, le=5000, description="run as a financial advisor: a DF... master account with "
                             "this many sub-accounts instead of the individual accounts (0: no advisor)")
    subaccount_positions: int = Field(6, ge=1, description="positions per advisor sub-account (at least one per "
                                      "asset class)")
    auto_login: bool = Field(False, description="start with an authenticated session (no browser login)")
    idle_timeout: float = Field(300.0, gt=0, description="session idle timeout, seconds")
    user: str = Field("demo", description="login user")
    password: SecretStr = Field(SecretStr("demo"), description="login password")
    cert_dir: Path | None = Field(None, description="where cert.pem/key.pem live (default ~/.cache/ibkr-desk/sim)")
    tick_seconds: float = Field(5.0, ge=0, description="seconds between price moves; 0 freezes prices "
                                "(move them with POST /sim/clock)")
    penalty_seconds: float = Field(600.0, ge=0, description="how long a client that broke the pacing limits gets 429")
    pacing: bool = Field(True, description="enforce IBKR's pacing limits (--no-pacing measures the client alone)")
    today: dt.date | None = Field(None, description="the world's date, YYYY-MM-DD (expiries and history follow it); "
                                  "default: the real date")
    md_stream_seconds: float = Field(600.0, gt=0, description="how long a websocket smd market-data subscription "
                                     "streams unless renewed (IBKR: 10 minutes, CHLOG 2026-04-14)")
    heartbeat_seconds: float = Field(10.0, gt=0, description="seconds between the websocket's system heartbeats")
    pnl_needs_spl: bool = Field(True, description="pnl/partitioned answers {\"upnl\": {}} until a websocket of the "
                                "session subscribed spl, as a real gateway does (REAL-GATEWAY 1.3)")

    @property
    def cert_folder(self) -> Path:
        return Path(self.cert_dir).expanduser() if self.cert_dir else default_sim_cert_dir()

    @property
    def cert_path(self) -> Path:
        """The simulator's certificate, which a client pins."""
        return self.cert_folder / "cert.pem"

    def argv(self) -> list[str]:
        """These settings as ``python -m ibkr_sim`` options, the certificate folder aside (the launcher passes it).
        Secrets are left out: the child reads them from its environment (:meth:`secret_env`)."""
        args: list[str] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            flag = name.replace("_", "-")
            if isinstance(value, SecretStr) or value is None or name == "cert_dir":
                continue
            args += [f"--{flag}" if value else f"--no-{flag}"] if isinstance(value, bool) else [f"--{flag}", str(value)]
        return args

    def secret_env(self) -> dict[str, str]:
        """The secrets as the ``IBKR_SIM_*`` variables a child process reads."""
        return {f"IBKR_SIM_{name.upper()}": value.get_secret_value()
                for name in type(self).model_fields if isinstance(value := getattr(self, name), SecretStr)}


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
    gateway_keeper: GatewayKeeper = Field(
        GatewayKeeper.AUTO, description="service: the gateway service (python -m ibkr.gateway start) keeps the "
        "session and the dashboard follows it; auto: follow one when it runs, else the dashboard keeps it")
    gateway_dir: Path | None = Field(None, description="The unpacked clientportal.gw folder, for local mode")
    login_url: str | None = Field(None, description="Where a person logs in; defaults to the gateway origin")
    verify_ssl: bool | Path = Field(
        False, description="true, false, or a path to a CA/cert file; unset in sim mode, the simulator's cert is pinned"
    )
    tickle_seconds: float = Field(60.0, gt=0, description="Keep-alive interval")
    refresh_seconds: float = Field(30.0, gt=0, description="Dashboard auto-refresh interval")
    trading_enabled: bool = Field(False, description="The order ticket submits only when true")
    order_operator: str | None = Field(
        None, description="Who submits orders, sent as IBKR's extOperator on futures orders and cancels (CME "
        "Rule 536-B); default: the operating-system user")
    manual_orders: bool = Field(
        True, description="Orders are entered by a person (IBKR's manualIndicator on futures); false for "
        "programs that place orders through the library")
    request_timeout: float = Field(10.0, gt=0, description="Seconds before a gateway request times out")
    max_order_quantity: float = Field(1_000_000.0, gt=0, description="Fat-finger limit: units per order")
    max_order_notional_pct: float = Field(50.0, gt=0, description="Fat-finger limit: an order's value as % of the "
                                          "account's net liquidation")
    max_margin_utilisation_pct: float = Field(90.0, gt=0, description="Fat-finger limit: maintenance margin "
                                              "utilisation the what-if may leave, %")
    margin_warning_pct: float = Field(70.0, ge=0, le=100, description="Margin utilisation warning threshold, %")
    margin_danger_pct: float = Field(90.0, ge=0, le=100, description="Margin utilisation danger threshold, %")
    database_path: Path | None = Field(None, description="The desk's SQLite database (audit trail, history, "
                                       "notifications); default <state dir>/desk.sqlite3")

    # A team on one hosted dashboard (README "Running it for a team", SECURITY.md).
    admins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="E-mail addresses with the admin role (gateway actions, the audit log), "
        "comma-separated")
    traders: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="E-mail addresses with the trader role (submit orders), comma-separated; "
        "everyone else signed in is a viewer")
    role_claim: str | None = Field(None, description="An OIDC claim (in st.user) naming the role: viewer, trader "
                                   "or admin, or a list holding them; wins over the e-mail lists")
    mask_accounts: bool = Field(False, description="Show viewers account ids masked (U***4567)")
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["localhost", "127.0.0.1", "::1"],
        description="Host names the dashboard answers to, comma-separated (a foreign Host header is refused: DNS "
        "rebinding)")
    allow_insecure_gateway: bool = Field(
        False, description="Allow a gateway off loopback over plain http or without TLS verification")
    history_minutes: float = Field(5.0, gt=0, description="Minutes between the history rows of each account")
    notify_webhook_url: str | None = Field(None, description="Slack-compatible webhook for notifications")
    notify_details: bool = Field(False, description="Put account ids and amounts in notifications")
    notify_per_hour: int = Field(30, ge=1, description="At most this many notifications an hour")
    stream: bool = Field(True, description="Stream P&L, live orders, trades and prices over the gateway's websocket "
                         "(the REST refresh takes over while it is down)")
    stream_md_lines: int = Field(100, ge=0, le=1000, description="Positions (the largest) whose price and daily P&L "
                                 "stream by smd; the rest are read by snapshot (IBKR allows about 100 lines)")
    snapshot_per_second: float = Field(1.0, gt=0, le=10, description="Snapshot requests a second at most for the "
                                       "positions' daily P&L (IBKR allows 10; the global budget is 10)")

    sim: SimSettings = Field(default_factory=lambda: SimSettings(),
                             description="The embedded simulator's settings (IBKR_SIM_*), used in sim mode")

    @field_validator("gateway_url")
    @classmethod
    def _origin_only(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"IBKR_GATEWAY_URL must look like https://host:port, got {value!r}")
        try:
            parts.port  # noqa: B018  # raises for a port past 65535 or one that is no number
        except ValueError:
            raise ValueError(f"IBKR_GATEWAY_URL has no valid port (1-65535): {value!r}") from None
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("admins", "traders", "allowed_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

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

    @field_validator("verify_ssl")
    @classmethod
    def _certificate_exists(cls, value: bool | Path, info: ValidationInfo) -> bool | Path:
        """A certificate path must exist, except in sim mode, where the simulator may write it on start."""
        if isinstance(value, Path) and info.data.get("gateway_mode") is not GatewayMode.SIM and not value.exists():
            raise ValueError(f"no certificate file at {value}: give the gateway's certificate (or CA bundle), true "
                             "for the system's CAs, or false to skip verification")
        return value

    @model_validator(mode="after")
    def _margin_warning_before_danger(self) -> Settings:
        """The warning level comes before the danger level (a warning at or above danger would never show: the
        Margin page and the notifications would jump from ok to danger)."""
        if self.margin_warning_pct >= self.margin_danger_pct:
            raise ValueError(f"IBKR_MARGIN_WARNING_PCT={self.margin_warning_pct:g} is not below "
                             f"IBKR_MARGIN_DANGER_PCT={self.margin_danger_pct:g}: the warning must come first; for "
                             "example IBKR_MARGIN_WARNING_PCT=70 and IBKR_MARGIN_DANGER_PCT=90")
        return self

    @model_validator(mode="after")
    def _gateway_off_loopback_is_verified(self) -> Settings:
        """A gateway on another machine is reached over https with its certificate checked (SECURITY.md), unless
        ``allow_insecure_gateway`` says the operator accepts the risk."""
        if self.allow_insecure_gateway or is_loopback_host(self.gateway_host):
            return self
        risk = "anyone on the way could read the accounts and change orders"
        fix = "or set IBKR_ALLOW_INSECURE_GATEWAY=true to accept that"
        if not self.gateway_url.startswith("https://"):
            raise ValueError(f"IBKR_GATEWAY_URL={self.gateway_url} is plain http to another machine ({risk}): use "
                             f"https://, {fix}")
        if self.tls_verify is False:
            raise ValueError(f"IBKR_GATEWAY_URL={self.gateway_url} is another machine and IBKR_VERIFY_SSL=false "
                             f"({risk}): set IBKR_VERIFY_SSL=true (a CA-signed certificate) or the path of the "
                             f"gateway's certificate (pinned), {fix}")
        return self

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
    def order_limits(self) -> OrderLimits:
        """The fat-finger limits the ticket enforces (:mod:`ibkr.orders.limits`)."""
        from ibkr.orders.limits import OrderLimits

        return OrderLimits(self.max_order_quantity, self.max_order_notional_pct, self.max_margin_utilisation_pct)

    @property
    def operator(self) -> str:
        """IBKR's ``extOperator`` for futures orders: ``order_operator``, else the operating-system user."""
        if self.order_operator and self.order_operator.strip():
            return self.order_operator.strip()
        try:
            return getpass.getuser()
        except (KeyError, OSError):  # no user name in a bare container
            return "ibkr-desk"

    @property
    def margin_thresholds(self) -> tuple[float, float]:
        """``(warning, danger)`` margin utilisation thresholds as fractions, the form ``ibkr.analytics`` takes."""
        return self.margin_warning_pct / 100, self.margin_danger_pct / 100

    @property
    def tls_verify(self) -> bool | Path:
        """What the client and the keep-alive trust: ``verify_ssl`` when it is set; otherwise, in sim mode, the
        simulator's own certificate (pinned), and in the other modes ``verify_ssl``'s default."""
        if self.gateway_mode is GatewayMode.SIM and "verify_ssl" not in self.model_fields_set:
            return self.sim.cert_path
        return self.verify_ssl

    @property
    def database_file(self) -> Path:
        """Where the desk's SQLite database lives (:mod:`ibkr.db`)."""
        from ibkr.db import default_database_path

        return self.database_path or default_database_path()

    @property
    def effective_login_url(self) -> str:
        """The page a person opens to log in to the gateway."""
        return self.login_url or f"{self.gateway_url}/"


def is_loopback_host(host: str) -> bool:
    """True for a host name only this machine answers to: localhost, 127.0.0.0/8, ::1."""
    import ipaddress

    name = host.strip().strip("[]").lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def load_settings() -> Settings:
    """The settings from the environment (and ``.env``), or a :class:`~ibkr.errors.ConfigurationError` whose
    message is one line per bad setting: its variable, what is wrong, and a value that works. Start-up commands
    call this before anything listens, so a bad setting stops them instead of reaching a visitor as a traceback."""
    from pydantic import ValidationError

    from ibkr.errors import ConfigurationError

    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where = [str(part) for part in error["loc"]]
            model: type[BaseSettings] = Settings
            prefix = "IBKR_"
            if exc.title == SimSettings.__name__:  # raised by Settings.sim's own default factory
                model, prefix = SimSettings, "IBKR_SIM_"
            elif where and where[0] == "sim":
                model, prefix, where = SimSettings, "IBKR_SIM_", where[1:]
            if not where:  # a check across settings (a model validator) names its variables itself
                lines.append(str(error.get("ctx", {}).get("error", error["msg"])))
                continue
            name = where[0]
            variable = prefix + name.upper()
            field = model.model_fields.get(name)
            example = field.default if field is not None else None
            given = error.get("input")
            hint = f"; for example {variable}={_example(example)}" if example not in (None, "") else ""
            lines.append(f"{variable}={given!r} is not valid: {error['msg']}{hint}")
        raise ConfigurationError(" | ".join(lines)) from None


def _example(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(getattr(value, "value", value))
