"""What the app and the CLI share, built from the environment: the API client (the cloud, or the
embedded offline backend when no credentials are set), the task store, output folder, keys
and the task engine."""

from __future__ import annotations

import csv
import logging
import os
import socket
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from webui.api.client import ENV_VARS, ZhiqiteClient
from webui.core.catalog import Catalog
from webui.core.engine import PollPolicy, TaskEngine
from webui.core.hosting import ImageHost, LocalImageHost, S3ImageHost, s3_host_from_env
from webui.core.keys import KEY_BYTES, Keys, load_or_create_key
from webui.core.limits import Limiter, Limits
from webui.core.limits_sql import SqlLimitBook
from webui.core.outputs import OutputWriter
from webui.core.result_files import DEFAULT_PREFIX, MirroredStore, ResultMirror, valid_prefix
from webui.core.sources import Sources
from webui.core.store import SQLiteTaskStore, SqlTaskStore
from webui.core.tags import TagList
from webui.messages import Msg

log = logging.getLogger(__name__)
# httpx logs every request URL at INFO, and a callback URL carries its task's token.
logging.getLogger("httpx").setLevel(logging.WARNING)

CREDENTIAL_VARS = tuple(var for arg, var in ENV_VARS.items() if arg != "base_url")


def public_url_from_env(env: Mapping[str, str]) -> str | None:
    """Where the service can reach this app: ZHIQITE_PUBLIC_URL, else the Space's host."""
    if env.get("ZHIQITE_PUBLIC_URL", "").strip():
        return env["ZHIQITE_PUBLIC_URL"].strip().rstrip("/")
    if env.get("SPACE_HOST", "").strip():
        return f"https://{env['SPACE_HOST'].strip()}"
    return None


SPACES_PERSISTENT = Path("/data")  # a Space's persistent storage, when the owner added it


def storage_from_env(env: Mapping[str, str], persistent_root: Path = SPACES_PERSISTENT
                     ) -> tuple[Path, Path, bool]:
    """(data dir, outputs dir, ephemeral). ZHIQITE_DATA_DIR / ZHIQITE_OUTPUTS_DIR win; on a
    Space, `/data` when it exists, else a temp dir (lost at every restart: the page says so);
    elsewhere ./data and ./outputs."""
    data, outputs = env.get("ZHIQITE_DATA_DIR"), env.get("ZHIQITE_OUTPUTS_DIR")
    if not env.get("SPACE_ID") or (data and outputs):
        return Path(data or "data"), Path(outputs or "outputs"), False
    if persistent_root.is_dir() and os.access(persistent_root, os.W_OK):
        root, ephemeral = persistent_root / "zhiqite", False
    else:
        root, ephemeral = Path(tempfile.gettempdir()) / "zhiqite", True
    return Path(data or root / "data"), Path(outputs or root / "outputs"), ephemeral


DATABASE_URL_VAR = "ZHIQITE_DATABASE_URL"


LEASE_VAR = "ZHIQITE_LEASE_SECONDS"
LEASE_RANGE = (2, 3600)
RESULTS_VAR = "ZHIQITE_S3_RESULTS"
RESULTS_PREFIX_VAR = "ZHIQITE_S3_RESULTS_PREFIX"


def _on_or_off(env: Mapping[str, str], name: str) -> bool | None:
    """An on/off setting (also 1/0, true/false); None when unset or `auto`."""
    value = (env.get(name) or "").strip().lower()
    if value in ("", "auto"):
        return None
    if value not in ("1", "0", "on", "off", "true", "false"):
        raise SettingError(Msg("runtime.on_or_off", name=name, got=repr(value[:40])))
    return value in ("1", "on", "true")


class SettingError(ValueError):
    """A setting of the environment the app cannot start with (`.msg`; `str()` is the
    English)."""

    def __init__(self, msg: Msg) -> None:
        super().__init__(str(msg))
        self.msg = msg


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    outputs_dir: Path = Path("outputs")
    public_url: str | None = None
    backend: str = "auto"  # auto (offline without credentials), offline, cloud
    offline_time_scale: float = 1.0
    ephemeral: bool = False  # storage lost at restart (a Space without persistent storage)
    # False: the embedded offline backend plays a service that cannot reach this app (a
    # laptop with no public address): no callbacks, no hosted uploads, results by polling.
    offline_reaches_app: bool = True
    tags_csv: Path | None = None  # the prompt's autocomplete tag list (core/tags.py)
    # the PostgreSQL store's URL (several replicas share it); None: SQLite in data_dir. Never
    # in a repr or a message: it may hold a password.
    database_url: str | None = field(default=None, repr=False)
    # this replica in the store's leases (the tasks it follows); None: the host name and the
    # data dir, the same across its restarts
    replica_id: str | None = None
    # how long a replica's hold on a task lasts unrenewed: when a replica dies, another takes
    # its tasks over after this (the sweep looks every half of it)
    lease_seconds: float = 60.0
    # results put in the S3 bucket (when there is one); None: when replicas share a database
    s3_results: bool | None = None
    s3_results_prefix: str = DEFAULT_PREFIX

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *,
                 persistent_root: Path = SPACES_PERSISTENT, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        data_dir, outputs_dir, ephemeral = storage_from_env(env, persistent_root)
        values: dict[str, Any] = {
            "data_dir": data_dir,
            "outputs_dir": outputs_dir,
            "ephemeral": ephemeral,
            "public_url": public_url_from_env(env),
            "backend": env.get("ZHIQITE_BACKEND") or "auto",
        }
        reaches = _on_or_off(env, "ZHIQITE_OFFLINE_REACHES_APP")
        if reaches is not None:
            values["offline_reaches_app"] = reaches
        values["s3_results"] = _on_or_off(env, RESULTS_VAR)
        prefix = env.get(RESULTS_PREFIX_VAR)
        if prefix is not None:
            if not valid_prefix(prefix):
                raise SettingError(Msg("runtime.results_prefix", name=RESULTS_PREFIX_VAR,
                                       got=repr(prefix[:60])))
            values["s3_results_prefix"] = prefix
        database_url = env.get(DATABASE_URL_VAR, "").strip()
        if database_url:
            if not database_url.startswith(("postgresql://", "postgres://")):
                raise SettingError(Msg("runtime.database_url", name=DATABASE_URL_VAR))
            values["database_url"] = database_url
        replica = env.get("ZHIQITE_REPLICA_ID", "").strip()
        if replica:
            values["replica_id"] = replica[:200]
        lease = env.get(LEASE_VAR, "").strip()
        if lease:
            try:
                seconds = float(lease)
            except ValueError:
                seconds = -1.0
            if not LEASE_RANGE[0] <= seconds <= LEASE_RANGE[1]:
                raise SettingError(Msg("runtime.seconds_between", name=LEASE_VAR,
                                       low=LEASE_RANGE[0], high=LEASE_RANGE[1],
                                       got=repr(lease[:40])))
            values["lease_seconds"] = seconds
        tags = env.get("ZHIQITE_TAGS_CSV", "").strip()
        if tags:
            if not Path(tags).is_file():
                raise SettingError(Msg("runtime.not_a_file", name="ZHIQITE_TAGS_CSV",
                                       got=repr(tags)))
            values["tags_csv"] = Path(tags)
        scale = env.get("ZHIQITE_OFFLINE_TIME_SCALE", "").strip()
        if scale:
            try:
                values["offline_time_scale"] = float(scale)
            except ValueError:
                raise SettingError(Msg("runtime.not_a_number", name="ZHIQITE_OFFLINE_TIME_SCALE",
                                       got=repr(scale))) from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def choose_public_url(settings: Settings, *, offline: bool, loopback: str,
                      share_url: str | None) -> str | None:
    """Where the service reaches this app, once it listens: the configured public URL (or the
    Space's host); else the embedded offline backend's loopback; else Gradio's --share link
    (a public address, used exactly as SPACE_HOST is); else none (results by polling, and
    only pictures that need no hosting can be sent)."""
    if settings.public_url:
        return settings.public_url
    if offline:
        return loopback if settings.offline_reaches_app else None
    return share_url.rstrip("/") if share_url else None


def open_store(settings: Settings, *, connect_timeout: float = 15.0) -> SqlTaskStore:
    """PostgreSQL when ZHIQITE_DATABASE_URL names one (several replicas share it), else the
    embedded SQLite file in the data dir."""
    if not settings.database_url:
        return SQLiteTaskStore.in_dir(settings.data_dir)
    try:
        from webui.core.store_postgres import PostgresTaskStore, StoreUnreachable
    except ImportError:
        raise SettingError(Msg("runtime.no_postgres_driver", name=DATABASE_URL_VAR,
                                   command='pip install "zhiqite-webui[postgres]"')) from None
    try:
        return PostgresTaskStore(settings.database_url, connect_timeout=connect_timeout)
    except StoreUnreachable:  # its error names no password, but the URL might: not shown
        raise SettingError(Msg("runtime.database_unreachable", name=DATABASE_URL_VAR)) from None


def has_credentials(env: Mapping[str, str]) -> bool:
    return any(env.get(var, "").strip() for var in CREDENTIAL_VARS)


def read_tags(path: Path | None) -> TagList | None:
    if path is None:
        return None
    try:
        tags = TagList.read(path)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SettingError(Msg("runtime.tags_unreadable", name="ZHIQITE_TAGS_CSV",
                               reason=exc)) from None
    log.info("tag list: %d tags from %s", len(tags), path.name)
    return tags


class Runtime:
    """Start with `Runtime.open(settings)`; `close()` stops the engine and any embedded backend.
    The public URL may be set later (the app knows its own address only once it listens)."""

    def __init__(self, settings: Settings, client: ZhiqiteClient, offline: Any = None,
                 policy: PollPolicy | None = None, s3: S3ImageHost | None = None) -> None:
        self.settings = settings
        self.client = client
        self.offline = offline  # the embedded OfflineServer, when used
        holder = settings.replica_id or f"{socket.gethostname()}:{settings.data_dir.resolve()}"
        store = open_store(settings)
        results_in_bucket = settings.s3_results if settings.s3_results is not None \
            else settings.database_url is not None
        mirror = None
        if s3 is not None and results_in_bucket:
            mirror = ResultMirror(s3.client, s3.bucket, replica=holder,
                                  outputs_dir=settings.outputs_dir,
                                  cache_dir=settings.data_dir / "results",
                                  prefix=settings.s3_results_prefix)
        # with results in a bucket, the store's `local` gives a shown result a file here
        self.store: Any = store if mirror is None else MirroredStore(store, mirror)
        # the app's secret: the replicas' shared one when the store is shared
        self.keys = Keys(self.store.shared_key(KEY_BYTES)
                         or load_or_create_key(settings.data_dir))
        self.writer = OutputWriter(settings.outputs_dir, mirror)
        self.catalog = Catalog(client)  # the lists as the app's own key sees them
        policy = policy or PollPolicy(lease=settings.lease_seconds)
        self.engine = TaskEngine(client, self.store, self.writer, self.keys,
                                 public_url=settings.public_url, policy=policy,
                                 model_hash=self.catalog.model_hash,
                                 holder=holder)
        # Uploads are served by the app itself unless S3-compatible storage is configured.
        self.public_url = settings.public_url  # where the service reaches this app
        self.local_host = LocalImageHost(settings.data_dir / "uploads", lambda: self.public_url)
        self.image_host: ImageHost = s3 or self.local_host
        # pictures for the service: its own result URLs, else hosted where hosting is possible
        self.sources = Sources(self.store, self.hosting)
        self.tags = read_tags(settings.tags_csv)

    @classmethod
    def open(cls, settings: Settings, env: Mapping[str, str] | None = None,
             policy: PollPolicy | None = None) -> Runtime:
        env = os.environ if env is None else env
        backend = settings.backend
        if backend == "auto":
            backend = "cloud" if has_credentials(env) else "offline"
        if backend == "offline":
            from webui.offline.config import OfflineConfig
            from webui.offline.server import OfflineServer

            offline = OfflineServer(OfflineConfig(
                time_scale=settings.offline_time_scale,
                reach_only_itself=not settings.offline_reaches_app))
            offline.start()
            client = ZhiqiteClient(base_url=offline.url)
            return cls(settings, client, offline, policy, s3_host_from_env(env))
        if backend != "cloud":
            raise SettingError(Msg("runtime.backend", got=repr(backend)))
        if not has_credentials(env):
            raise SettingError(Msg("runtime.no_credentials"))
        return cls(settings, ZhiqiteClient.from_env(env), None, policy, s3_host_from_env(env))

    def hosting(self) -> ImageHost | None:
        """Where uploads can be put for the service to fetch: S3/OSS, or this app at its
        public URL; None when neither (a laptop the service cannot reach)."""
        if self.image_host is not self.local_host:
            return self.image_host
        return self.local_host if self.public_url else None

    def warm_up(self) -> threading.Thread:
        """Load the model lists in the background (the first page must not wait for them)."""
        thread = threading.Thread(target=self.catalog.warm, name="catalog-warm-up", daemon=True)
        thread.start()
        return thread

    @property
    def is_offline(self) -> bool:
        return self.offline is not None

    def owner(self, visitor: str) -> str:
        return self.keys.owner(visitor, self.client.auth.secrets)

    def set_public_url(self, url: str | None, *, callbacks: bool = True) -> None:
        """The app's address for hosted uploads, and for callbacks unless `callbacks` is
        False (results are then learnt by polling)."""
        self.public_url = url.rstrip("/") if url else None
        self.engine.public_url = self.public_url if callbacks else None

    def limiter(self, limits: Limits) -> Limiter:
        """The limits on the operator's key, counted where every replica sees them when the
        store is shared (its clock then the wall clock), else in this process's memory."""
        if self.store.serves_replicas:
            return Limiter(limits, clock=time.time, book=SqlLimitBook(self.store))
        return Limiter(limits, is_running=self.engine.is_following)

    def close(self) -> None:
        self.engine.shutdown()
        self.client.close()
        if self.offline is not None:
            self.offline.stop()
        self.store.close()
