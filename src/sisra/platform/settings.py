"""All configuration, from ``SISRA_*`` environment variables (or a ``.env`` file).

Secrets may also be given as ``SISRA_<NAME>_FILE`` pointing at a file, so that they never
appear in a process listing or a shell history.
"""

import ipaddress
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from sisra.common.clock import DEFAULT_ZONE, valid_zone
from sisra.common.ins import DEFAULT_PATIENT_ID_OID, KNOWN_OIDS


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SISRA_", env_file=".env", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str = ""
    master_key: SecretStr | None = None
    blob_dir: Path | None = None
    # where blobs live: "fs" (blob_dir, one machine) or "s3" (an S3-compatible object store
    # shared by every node; docs/deploy.md)
    blob_store: Literal["fs", "s3"] = "fs"
    s3_endpoint_url: str | None = None  # None: Amazon S3 itself
    s3_bucket: str = "sisra"
    s3_prefix: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_addressing_style: Literal["path", "virtual", "auto"] = "path"
    s3_part_size_mb: int = Field(default=8, ge=5)

    max_document_bytes: int = 25 * 1024 * 1024
    # an upload with no data for this long, or longer than the maximum, is answered 408
    upload_idle_timeout_s: float = 30.0
    upload_max_seconds: float = 900.0
    # every other request body (docs/security.md « Request bodies »): JSON and forms take at
    # most this many bytes; the directory import's CSV file its own; a body with no data for
    # the idle timeout, or longer than the maximum, is answered 408
    max_request_body_bytes: int = Field(default=64 * 1024, ge=1024)
    max_directory_import_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    body_idle_timeout_s: float = Field(default=15.0, gt=0)
    body_max_seconds: float = Field(default=60.0, gt=0)
    # a share's Idempotency-Key is remembered this long
    idempotency_ttl_hours: int = 24
    # blobs with no document row older than this are removed (a request killed mid-way);
    # the sweep runs at start-up and then every interval (0: only `sisra admin sweep-blobs`)
    blob_sweep_grace_minutes: int = 60
    blob_sweep_interval_minutes: int = 60
    access_token_minutes: int = 15
    refresh_token_days: int = 90
    strong_auth_max_age_days: int = 30

    # login throttling (docs/security.md « Login throttling »): hard limits per (account,
    # source) and per source; an account attacked from everywhere is slowed, never locked
    login_max_failures_per_account_source: int = 5
    login_max_failures_per_ip: int = 30
    login_account_delay_after: int = 10
    login_account_max_delay_s: int = 60
    login_failure_window_minutes: int = 15
    # a known device (MonSisra presenting its refresh token, a browser its known-device
    # cookie) has a counter of its own, untouched by strangers' failures: this many failures
    # per window from that device; the browser's cookie lasts known_device_days
    login_max_failures_per_device: int = 5
    known_device_days: int = 180
    # reverse proxies whose X-Forwarded-For is believed (CIDR list, comma-separated)
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)

    break_glass_hours: int = 4
    # patient search (docs/security.md « Patient search »): at most this many patients per
    # search, and at most this many searches per professional and per hour
    patient_search_max_results: int = Field(default=20, ge=1, le=100)
    patient_search_per_hour: int = Field(default=60, ge=1)

    # care-team declarations (docs/security.md « Care-team declarations »): attempts per
    # professional per rolling hour and day, how long a declared membership lasts, and how
    # often each server process looks for a daily digest still to send (0: only the
    # `sisra admin send-care-team-digest` command)
    care_team_declarations_per_hour: int = Field(default=10, ge=1)
    care_team_declarations_per_day: int = Field(default=30, ge=1)
    care_team_membership_days: int = Field(default=365, ge=1)
    care_team_digest_interval_s: float = 900.0
    events_keepalive_seconds: float = 15.0
    events_revocation_check_s: float = 1.0
    # how long this process remembers who an access token is (auth/cache.py; 0: never).
    # Revocations still apply within events_revocation_check_s, at once in this process.
    auth_cache_s: float = Field(default=10.0, ge=0)
    # on SIGTERM, how long open requests may finish before they are ended: event streams never
    # finish by themselves, and MonSisra reconnects (to another node, behind a balancer)
    shutdown_grace_seconds: int = 2
    public_url: str = "http://127.0.0.1:8000"
    # who runs the platform, as exported documents name it (XDM README.TXT)
    platform_name: str = "Sisra, plateforme régionale d'échange de documents de santé"
    contact_email: str = "contact@sisra.local"
    # the time zone every time a person reads is shown in (web pages, e-mails, MonSisra
    # through GET /api/v1/platform); files meant for software keep UTC and say so
    timezone: str = DEFAULT_ZONE
    # the OID under which the platform's own patient ids leave it when the INS may not (an
    # identity that is not « qualifiée »: docs/interop.md). The default is a UUID-derived OID
    # (2.25…), unique without registration; an operator with its own OID arc sets it here.
    patient_id_oid: str = DEFAULT_PATIENT_ID_OID
    demo_mode: bool = False
    # the MonSisra installers offered on « Télécharger MonSisra » (default <data_dir>/downloads)
    downloads_dir: Path | None = None

    sqlite_busy_timeout_s: float = Field(default=30.0)

    # e-mail (one-time codes)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_sender: str = "Sisra <ne-pas-repondre@sisra.local>"
    smtp_timeout_s: float = 15.0
    otp_ttl_minutes: int = 10
    otp_max_attempts: int = 5
    otp_resend_cooldown_s: int = 60

    # CPS cards: trust anchors (PEM files, CA certificates) and revocation lists
    cps_trust_anchors: list[Path] = Field(default_factory=list)
    cps_intermediates: list[Path] = Field(default_factory=list)
    cps_crls: list[str] = Field(default_factory=list)  # file paths or http(s) URLs
    cps_crl_required: bool = True
    cps_crl_cache_s: int = 3600
    cps_challenge_ttl_s: int = 120

    # audit trail: key outside the database, sealer, checkpoints published outside it
    audit_key: SecretStr | None = None
    audit_checkpoint_dir: Path | None = None
    audit_seal_interval_s: float = 1.0  # 0 = no background sealer (verify-audit still seals)
    audit_seal_batch: int = 1000
    audit_unsealed_warn_minutes: int = 5
    # how much older than the sealed head a row may be and still count as a late commit (a
    # slow request); older rows are sealed but flagged « hors de l'ordre chronologique »
    audit_out_of_order_tolerance_s: float = 300.0

    # web pages
    web_ticket_ttl_s: int = 60
    # first-page previews (docs/security.md « previews are drawn in a bounded process »): each
    # render runs in a child process with this wall-clock timeout (its CPU time is bounded
    # alike) and address space, at most this many at once per server process; the PNG is
    # remembered in memory, a document too long to draw (or unreadable) for its own while
    preview_timeout_s: float = Field(default=5.0, gt=0)
    preview_memory_mb: int = Field(default=512, ge=128)
    preview_concurrency: int = Field(default=2, ge=1)
    preview_cache_s: int = Field(default=3600, ge=0)
    preview_failure_cache_s: int = Field(default=600, ge=0)
    preview_cache_mb: int = Field(default=32, ge=0)
    # first-login links e-mailed by administrators (choose one's portal password)
    password_link_ttl_hours: int = 72
    web_session_hours: int = 8

    # MSSanté, outgoing mail to other operators (docs/interop.md): the platform's operator
    # relay (SMTP + STARTTLS, the platform's client certificate); no relay host = no sending
    mssante_relay_host: str | None = None
    mssante_relay_port: int = 587
    mssante_client_cert: Path | None = None
    mssante_client_key: Path | None = None
    mssante_ca_file: Path | None = None  # the CAs the relay's certificate is checked against
    mssante_timeout_s: float = 30.0
    mssante_max_attempts: int = Field(default=8, ge=1)
    mssante_retry_base_s: float = 30.0  # first retry after this, then doubled (max 1 h)
    mssante_poll_s: float = 5.0  # the sender also wakes right after each share's commit

    # MSSanté reception (`sisra mssante-gateway`, docs/interop.md): the LMTP server the
    # operator's relay delivers to, the relays it accepts, the biggest message, this
    # platform's mail domains and the MSSanté trust space senders must belong to
    mssante_lmtp_host: str = "127.0.0.1"
    mssante_lmtp_port: int = 2424
    mssante_relays: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1/32", "::1/128"]
    )
    mssante_max_message_bytes: int = 40 * 1024 * 1024
    mssante_domains: Annotated[list[str], NoDecode] = Field(default_factory=list)
    mssante_trust_domains: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["mssante.fr"]
    )
    # zip archives received (IHE_XDM.ZIP and any zip attachment), counted while they are read:
    # the bytes they expand to (every entry, every level), that total over the archive's size
    # (beyond 1 MiB), the entries of one archive and the zips nested inside it
    mssante_archive_max_bytes: int = Field(default=100 * 1024 * 1024, ge=1024 * 1024)
    mssante_archive_max_ratio: int = Field(default=100, ge=2)
    mssante_archive_max_entries: int = Field(default=100, ge=4)
    mssante_archive_max_depth: int = Field(default=1, ge=0)

    # Pro Santé Connect (e-CPS), the national OpenID Connect provider for health professionals:
    # enabled once the issuer, client id and client secret are set (docs/interop.md)
    psc_issuer: str = ""  # discovery at <issuer>/.well-known/openid-configuration
    psc_client_id: str = ""
    psc_client_secret: SecretStr | None = None
    psc_scopes: str = "openid scope_all"
    psc_acr_values: str = "eidas1"  # empty: no acr asked, none checked
    # "login": PSC authenticates again at every login, never by its single sign-on (a shared
    # computer: the next person must not come in on the previous one's PSC session); empty:
    # no prompt sent, none checked
    psc_prompt: str = "login"
    psc_timeout_s: float = 15.0
    psc_flow_ttl_s: int = 600  # the whole trip to the provider and back
    psc_app_code_ttl_s: int = 120  # the one-time code MonSisra redeems

    @property
    def psc_enabled(self) -> bool:
        return bool(self.psc_issuer and self.psc_client_id and self.psc_client_secret)

    @model_validator(mode="before")
    @classmethod
    def _secrets_from_files(cls, data: dict[str, object]) -> dict[str, object]:
        for name in (
            "master_key",
            "database_url",
            "smtp_password",
            "audit_key",
            "s3_access_key_id",
            "s3_secret_access_key",
            "psc_client_secret",
        ):
            path = os.environ.get(f"SISRA_{name.upper()}_FILE")
            if path and not data.get(name):
                data[name] = Path(path).read_text(encoding="utf-8").strip()
        return data

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if not valid_zone(value.strip()):
            raise ValueError(
                f"Fuseau horaire inconnu : « {value} » (exemple : Europe/Paris, America/Cayenne)."
            )
        return value.strip()

    @field_validator("patient_id_oid")
    @classmethod
    def _patient_oid(cls, value: str) -> str:
        value = value.strip()
        if not re.fullmatch(r"[0-2](\.(0|[1-9][0-9]*))+", value) or len(value) > 64:
            raise ValueError(
                "SISRA_PATIENT_ID_OID doit être un OID (chiffres et points, 64 au plus)"
            )
        if value in KNOWN_OIDS:
            raise ValueError("SISRA_PATIENT_ID_OID ne peut pas être un OID de l'INS")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(value, list):
            for item in value:
                ipaddress.ip_network(str(item), strict=False)  # a clear error at start-up
        return value

    @field_validator("mssante_relays", "mssante_domains", "mssante_trust_domains", mode="before")
    @classmethod
    def _split_mssante(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(value, list) and info.field_name == "mssante_relays":
            for item in value:
                ipaddress.ip_network(str(item), strict=False)  # a clear error at start-up
        elif isinstance(value, list):
            value = [str(v).strip().lower().lstrip(".") for v in value]
        return value

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'sisra.db').as_posix()}"

    @property
    def effective_blob_dir(self) -> Path:
        return self.blob_dir or (self.data_dir / "blobs")

    @property
    def effective_downloads_dir(self) -> Path:
        return self.downloads_dir or (self.data_dir / "downloads")

    @property
    def master_key_file(self) -> Path:
        return self.data_dir / "master.key"

    @property
    def audit_key_file(self) -> Path:
        return self.data_dir / "audit.key"

    @property
    def effective_audit_checkpoint_dir(self) -> Path:
        return self.audit_checkpoint_dir or (self.data_dir / "audit-checkpoints")


@lru_cache
def get_settings() -> Settings:
    return Settings()
