"""What a deployment of the service chooses. Every value has an embedded default, so
``fanpin serve`` runs with nothing configured; environment variables
``FANPIN_FORMS_SERVICE_<NAME>`` (and ``fanpin serve`` options) override them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..ledger.db import resolve_url
from ..util.limits import DATA_XLSX_MAX_BYTES, SCAN_PDF_MAX_BYTES
from ..util.secret import data_dir

ENV = "FANPIN_FORMS_SERVICE_"


def default_home() -> Path:
    """The folder for the service's uploads and job outputs (the database is the ledger's)."""
    return data_dir() / "service"


@dataclass(frozen=True)
class Settings:
    #: SQLAlchemy URL of the ledger; default: the ledger's (``FANPIN_FORMS_DATABASE_URL`` or its file)
    db_url: str = ""
    home: Path = field(default_factory=default_home)
    #: county plugin (code or name); None: the only one installed
    county: str | None = None
    #: bytes, one uploaded sheet
    upload_max_bytes: int = DATA_XLSX_MAX_BYTES
    #: bytes, one uploaded scan (PDF or image; also capped by the reader's own limits)
    scan_max_bytes: int = SCAN_PDF_MAX_BYTES
    session_hours: float = 12.0
    #: failed logins within ``throttle_minutes`` after which one name / one address is refused
    throttle_per_user: int = 5
    throttle_per_client: int = 20
    throttle_minutes: int = 15
    #: jobs run at once by the in-process runner (each may start LibreOffice); two, so that one
    #: hung conversion (killed at its timeout) never holds up every other job
    job_workers: int = 2
    #: copies of a blank form one job may print
    blank_max_copies: int = 500
    #: set the Secure flag on the session cookie (behind HTTPS)
    secure_cookies: bool = False
    #: the distributed queue's PostgreSQL (``postgresql://…``; usually the ledger's own database).
    #: Empty: jobs run on threads inside ``fanpin serve``
    queue_url: str = ""
    #: seconds without a worker's heartbeat after which its running jobs are given to another worker
    stalled_seconds: float = 30.0
    #: jobs one ``fanpin worker`` runs at once (each may start LibreOffice)
    worker_concurrency: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "home", Path(self.home))
        object.__setattr__(self, "db_url", resolve_url(self.db_url or None))

    @property
    def uploads_dir(self) -> Path:
        return self.home / "uploads"

    @property
    def jobs_dir(self) -> Path:
        return self.home / "jobs"

    def with_changes(self, **changes: object) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Defaults, then ``FANPIN_FORMS_SERVICE_*`` variables, then ``overrides`` (not None)."""
        values: dict[str, object] = {}
        for name, kind in (("db_url", str), ("home", Path), ("county", str), ("upload_max_bytes", int), ("scan_max_bytes", int),
                           ("session_hours", float), ("throttle_per_user", int), ("throttle_per_client", int),
                           ("throttle_minutes", int), ("job_workers", int), ("blank_max_copies", int),
                           ("queue_url", str), ("stalled_seconds", float), ("worker_concurrency", int)):
            raw = os.environ.get(ENV + name.upper(), "").strip()
            if raw:
                try:
                    values[name] = kind(raw)
                except ValueError:
                    continue
        if os.environ.get(ENV + "SECURE_COOKIES", "").strip() in ("1", "true", "yes"):
            values["secure_cookies"] = True
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
