"""A real PgBouncer in transaction pool mode, in front of the test PostgreSQL server.

`running_pgbouncer` starts one on a free 127.0.0.1 port and stops it afterwards; the suite runs
one for the whole run (dialect.py's POOLERS, conftest.py's `poolers`). Without the `pgbouncer`
binary its tests are skipped, or fail when CI is set (CI installs it:
`apt-get install -y pgbouncer`). PgBouncer refuses to run as root: as root it
runs as the `postgres` user, which then owns its directory (ini, auth file, pid file, log).
"""

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import make_url

from {{ cookiecutter.project_slug }}.settings import Settings

from .ports import free_port

# Transaction pool mode: a server connection belongs to a client for one transaction only.
# Every database is routed to the test server, so the test run's own database is there too.
INI = """\
[databases]
* = host={server_host} port={server_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 1000
auth_type = trust
auth_file = {directory}/userlist.txt
pidfile = {directory}/pgbouncer.pid
logfile = {directory}/pgbouncer.log
admin_users = postgres
ignore_startup_parameters = extra_float_digits,options
server_login_retry = 1
"""
# Fewer server connections than the app's pool: transactions share them, as in production.
POOL_SIZE = 4
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
RUN_AS_WHEN_ROOT = "postgres"


@dataclass(frozen=True)
class PgBouncer:
    port: int
    log_file: Path

    def url_for(self, database_url: str) -> str:
        """The same database, user and driver as `database_url`, reached through PgBouncer."""
        url = make_url(database_url).set(host="127.0.0.1", port=self.port)
        return url.render_as_string(hide_password=False)

    def settings_for(self, database_url: str) -> Settings:
        """The app's default settings through PgBouncer, with DATABASE_POOLER=pgbouncer."""
        return Settings(database_url=self.url_for(database_url), database_pooler="pgbouncer")


def accepts_connections(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop(pid_file: Path) -> None:
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return
    # SIGTERM: immediate shutdown (SIGINT would wait for the clients to leave).
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def running_pgbouncer(server_url: str, *, pool_size: int = POOL_SIZE) -> Iterator[PgBouncer]:
    """PgBouncer, daemonised with an ini of its own, with `pool_size` server connections per
    database and user; stopped by its pid file on the way out. (bench/load.py starts one too.)"""
    binary = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")
    if binary is None:
        message = (
            "pgbouncer is not installed; the PgBouncer tests need it "
            "(Debian/Ubuntu: `apt-get install -y pgbouncer`)."
        )
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    server = make_url(server_url)
    directory = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    log_file = directory / "pgbouncer.log"
    try:
        # A free port can be taken between choosing and binding it: try a few.
        for _attempt in range(5):
            port = free_port()
            ini = directory / "pgbouncer.ini"
            ini.write_text(
                INI.format(
                    server_host=server.host or "127.0.0.1",
                    server_port=server.port or 5432,
                    port=port,
                    pool_size=pool_size,
                    directory=directory,
                )
            )
            (directory / "userlist.txt").write_text(f'"{server.username or "postgres"}" ""\n')
            command = [binary, "-d", str(ini)]
            if os.geteuid() == 0:
                user = pwd.getpwnam(RUN_AS_WHEN_ROOT)
                for path in (directory, *directory.iterdir()):
                    os.chown(path, user.pw_uid, user.pw_gid)
                command.insert(1, f"-u{RUN_AS_WHEN_ROOT}")
            started = subprocess.run(
                command, capture_output=True, text=True, timeout=START_TIMEOUT, check=False
            )
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline and not accepts_connections(port):
                time.sleep(0.05)
            if accepts_connections(port):
                break
            stop(directory / "pgbouncer.pid")
        else:
            log = log_file.read_text() if log_file.exists() else ""
            pytest.fail(
                f"pgbouncer did not start (exit {started.returncode}): "
                f"{started.stderr.strip()} {log[-2000:]}",
                pytrace=False,
            )
        yield PgBouncer(port, log_file)
    finally:
        stop(directory / "pgbouncer.pid")
        shutil.rmtree(directory, ignore_errors=True)
