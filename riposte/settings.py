"""Configuration, built once at each entry point (worker, API, CLI) and passed down.

Every field can be set from the environment with the `RIPOSTE_` prefix (nested fields with `__`,
lists and objects as JSON). The Temporal connection is not here: it comes from the SDK's own
environment configuration (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TLS, API key, profile file).
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from riposte.alerts import AlertCaps
from riposte.budget.models import BudgetLimits
from riposte.domain.nsg_band import PriorityBand
from riposte.modes import Mode


class NsgBinding(BaseModel):
    """One NSG, the address range it protects, and the priority band for Riposte's rules."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    resource_group: str = Field(min_length=1)
    cidr: str
    band: PriorityBand = PriorityBand()  # e.g. {"low": 100, "high": 149}

    @field_validator("cidr")
    @classmethod
    def _valid_cidr(cls, value: str) -> str:
        return str(ipaddress.ip_network(value, strict=False))


class SignInBlockState(StrEnum):
    """The state of the Conditional Access policy `block_sign_in_from` creates."""

    ENABLED = "enabled"
    REPORT_ONLY = "enabledForReportingButNotEnforced"  # a pilot: logged, not enforced


class TenantSettings(BaseModel):
    """Where and how to reach Microsoft 365 and Azure. Only these differ for the emulator."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant_id: str = "00000000-0000-0000-0000-000000000001"
    client_id: str = "riposte"
    client_secret: SecretStr | None = None
    certificate_path: Path | None = None
    managed_identity: bool = False
    authority_host: str = "https://login.microsoftonline.com"
    graph_url: str = "https://graph.microsoft.com/v1.0"
    arm_endpoint: str = "https://management.azure.com"
    # Blob Storage account URL; {account} is the storage account's name (flow logs live there)
    blob_url: str = "https://{account}.blob.core.windows.net"
    # enforce_pattern_of_life: at most this many learned destinations (one Allow rule each)
    pattern_of_life_cap: int = 40
    ca_bundle: Path | None = None
    subscription_id: str = "00000000-0000-0000-0000-000000000002"
    domains: tuple[str, ...] = ("contoso.com",)
    nsgs: tuple[NsgBinding, ...] = ()
    quarantine_folder: str = "Riposte Quarantine"
    # block_sign_in_from: the ipNamedLocation holding the blocked ranges, and the Conditional
    # Access policy that blocks sign-ins from it for every account but the protected ones.
    sign_in_block_location: str = "Riposte blocked sign-ins"
    sign_in_block_policy: str = "Riposte: block sign-ins from attacker ranges"
    sign_in_block_state: SignInBlockState = SignInBlockState.ENABLED


class IncidentSettings(BaseModel):
    """How alerts are correlated into incidents (DESIGN.md, "Incidents")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    join: bool = True  # intake joins each alert to its incident (one more Temporal call)
    window_seconds: int = Field(default=72 * 3600, gt=0)  # alerts of one key within it: one
    history_bound: int = Field(default=2000, ge=10)  # events before an incident continues as new


class Guardrails(BaseModel):
    """What keeps autonomous mode safe to leave on (DESIGN.md, "Guardrails").

    Budgets: autonomous actions per sliding window, per action and in all, across every worker
    (None: no limit). Past either, an action waits for approval instead. Protected roles: the
    members of these Entra directory roles are never acted on, read through Graph and cached
    for `protected_roles_cache_seconds`. Denied API requests are folded into one `denied` audit
    event per source address per `denied_window_seconds`; a source refused more than
    `denied_limit` times in a window gets 429 until the window ends.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    budget_per_action: int | None = Field(default=10, ge=0)
    budget_total: int | None = Field(default=50, ge=0)
    budget_window_seconds: int = Field(default=3600, gt=0)
    protected_roles: tuple[str, ...] = ("Global Administrator",)
    protected_roles_cache_seconds: int = Field(default=300, ge=0)
    denied_window_seconds: int = Field(default=60, gt=0)
    denied_limit: int = Field(default=30, gt=0)

    def budget_limits(self) -> BudgetLimits:
        return BudgetLimits(
            per_action=self.budget_per_action,
            total=self.budget_total,
            window_seconds=self.budget_window_seconds,
        )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RIPOSTE_", env_nested_delimiter="__", frozen=True, extra="ignore"
    )

    data_dir: Path = Path(".riposte")
    policies_dir: Path = Path("policies")
    audit_url: str | None = None  # sqlite:///path or postgresql://...; default DATA_DIR/audit.db
    # The audit chain's HMAC key; unset, DATA_DIR/audit.key (made 0600 on a writer's first start)
    audit_key: SecretStr | None = None
    default_mode: Mode = Mode.PASSIVE
    force_passive: bool = False  # the engine-wide kill switch
    protected_users: tuple[str, ...] = ("breakglass@contoso.com",)  # never acted on
    protected_ranges: tuple[str, ...] = ()  # addresses / CIDR ranges never acted on
    task_queue: str = "riposte"
    max_concurrent_activities: int = 50
    activities_per_second: float | None = None  # per task queue, to respect Graph/ARM limits
    log_format: str = "console"  # console | json
    # host:port where a worker serves Prometheus metrics (Temporal's and Riposte's); None: off
    metrics_address: str | None = None
    # API: with a secret set, alert intake must carry a fresh HMAC-SHA256 signature; older or
    # replayed signatures are refused, and request bodies over max_body_bytes get 413.
    hmac_secret: SecretStr | None = None
    hmac_max_age_seconds: int = Field(default=300, gt=0)
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    alert_caps: AlertCaps = AlertCaps()  # per-field length caps and JSON depth, at intake
    metric_sources: int = Field(default=32, gt=0)  # distinct `source` labels; then "other"
    # alert_received keeps the native alert for `policy backtest`; its `raw` part is cut to this
    audit_raw_max_bytes: int = Field(default=16_384, ge=0)
    guardrails: Guardrails = Guardrails()
    tenant: TenantSettings = TenantSettings()
    incidents: IncidentSettings = IncidentSettings()
    # The worker's reconciler Schedule: how often it reverts blocks no live response holds.
    reconcile_interval_seconds: int = Field(default=600, ge=60)

    @field_validator("protected_ranges")
    @classmethod
    def _valid_ranges(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(str(ipaddress.ip_network(cidr, strict=False)) for cidr in value)

    @property
    def audit_store_url(self) -> str:
        return self.audit_url or f"sqlite:///{(self.data_dir / 'audit.db').resolve()}"
