"""A throwaway PostgreSQL cluster for the tests: Debian's `postgresql` binaries, initdb in a
temp dir, started on a free port, stopped at the end. Run as the `postgres` user when the
tests run as root (PostgreSQL refuses root)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def cluster() -> Iterator[str | None]:
    """The server's base URL (`postgresql://test@127.0.0.1:<port>`), or None with no
    PostgreSQL here (the caller skips, saying so)."""
    bin_dir = binaries()
    if bin_dir is None:
        yield None
        return
    home = Path(tempfile.mkdtemp(prefix="zq-pg-"))
    data = home / "data"
    command_prefix: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(home, user.pw_uid, user.pw_gid)
        command_prefix = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    run = lambda *args: subprocess.run([*command_prefix, *args], check=True,  # noqa: E731
                                       capture_output=True, timeout=120)
    run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "test", "--no-sync",
        "-E", "UTF8")
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(home / "log"), "-w", "-o",
        f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c max_connections=200", "start")
    try:
        yield f"postgresql://test@127.0.0.1:{port}"
    finally:
        subprocess.run([*command_prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m",
                        "immediate", "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(home, ignore_errors=True)


def new_database(base_url: str) -> str:
    """A new empty database on the cluster: its URL."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(base_url + "/postgres", autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return f"{base_url}/{name}"
