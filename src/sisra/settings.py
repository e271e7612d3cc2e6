"""All configuration, from ``SISRA_*`` environment variables (or a ``.env`` file).

Secrets may also be given as ``SISRA_<NAME>_FILE`` pointing at a file, so that they never
appear in a process listing or a shell history.
"""

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SISRA_", env_file=".env", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str = ""
    master_key: SecretStr | None = None
    blob_dir: Path | None = None

    max_document_bytes: int = 25 * 1024 * 1024
    access_token_minutes: int = 15
    refresh_token_days: int = 90
    strong_auth_max_age_days: int = 30

    login_max_failures_per_account: int = 5
    login_max_failures_per_ip: int = 30
    login_failure_window_minutes: int = 15

    break_glass_hours: int = 4
    events_keepalive_seconds: float = 15.0
    public_url: str = "http://127.0.0.1:8000"
    demo_mode: bool = False

    sqlite_busy_timeout_s: float = Field(default=30.0)

    @model_validator(mode="before")
    @classmethod
    def _secrets_from_files(cls, data: dict[str, object]) -> dict[str, object]:
        for name in ("master_key", "database_url"):
            path = os.environ.get(f"SISRA_{name.upper()}_FILE")
            if path and not data.get(name):
                data[name] = Path(path).read_text(encoding="utf-8").strip()
        return data

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'sisra.db').as_posix()}"

    @property
    def effective_blob_dir(self) -> Path:
        return self.blob_dir or (self.data_dir / "blobs")

    @property
    def master_key_file(self) -> Path:
        return self.data_dir / "master.key"


@lru_cache
def get_settings() -> Settings:
    return Settings()
