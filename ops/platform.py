"""The platform: a PostgreSQL server, and an MLflow and a Prefect server that keep their data in it.

SQLite (`mlflow.db`, Prefect's `~/.prefect/prefect.db`) serves one process on one machine; a
shared tracking server and orchestrator need a database server that many clients can write to
at once. `make platform-up` / `make platform-down` call this, and so does its test (through
``running_platform``), so the way the platform is brought up is written once. Everything binds
127.0.0.1. `up` also creates the work pools and deployments of prefect.yaml on the Prefect
server and starts a `cpu` worker here; GPU workers on other machines join the `gpu` pool
(README, "Running on several machines"). Run from the repo root:

    python -m ops.platform up [--pg-port 5433] [--mlflow-port 5002] [--prefect-port 4201]
                              [--workers cpu]
    python -m ops.platform status
    python -m ops.platform down

`up` also heals: after a service or a worker died (a crash, `kill -9`), it starts what is not
running and leaves what runs alone; the data is in PostgreSQL's data folder and MLflow's
artifact folder, which a restart reuses. `status` asks each service, not only its pid: MLflow
or Prefect is *degraded* while its database does not answer (their own /health says 200).

PostgreSQL's data directory and socket, MLflow's artifacts, Prefect's home, the generated
credentials and every process's log and pid live in ``STATE_DIR`` (`.platform-local/`).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from urllib.parse import quote

import psycopg2
from psycopg2 import sql
from psycopg2.extensions import connection as PgConnection

from ops import prefect_stack
from ops.supervisor import (
    ServiceError,
    as_user,
    free_port,
    port_free,
    process_running,
    recorded_pid,
    service_env,
    start_service,
    stop_group,
    stop_recorded,
    wait_healthy,
)

STATE_DIR = Path(".platform-local")
DB_USER = "reactdiff"
DATABASES = ("mlflow", "prefect")
SERVICES = ("postgres", "mlflow", "prefect")  # start order; `down` stops them the other way
DEFAULT_PORTS = {"pg": 5433, "mlflow": 5002, "prefect": 4201}  # 5001: `make serve`
# the first start creates both schemas (MLflow's and Prefect's migrations), on a shared machine
HEALTH_TIMEOUT_S = 180.0
INSTALL_HINT = "apt-get install postgresql"
SOCKET_PATH_MAX = 107  # sun_path of a unix socket, less its terminating NUL
LOG_MARK = "--- python -m ops.platform up,"
# PostgreSQL's refusal while a killed postmaster's backends still run, and how long to wait them
SHMEM_IN_USE = "pre-existing shared memory block"
SHMEM_WAIT_S = 60.0


class PlatformError(ServiceError):
    """A platform that cannot be started or stopped as asked; the message says why."""


class PostgresMissing(PlatformError):
    """PostgreSQL's server binaries are not on this machine."""


class AlreadyRunning(PlatformError):
    """`up` found every service of the platform already running."""


@dataclasses.dataclass(frozen=True)
class Health:
    """What `status` says of one service: running, degraded (its process runs but it does not
    do its work, ``problem`` says why) or stopped."""

    state: str
    pid: int | None
    problem: str = ""

    def line(self, name: str, where: str) -> str:
        what = self.state if self.pid is None else f"{self.state} (pid {self.pid})"
        return f"{name:9} {what:20} {where}" + (f"  {self.problem}" if self.problem else "")


@dataclasses.dataclass(frozen=True)
class Ports:
    pg: int
    mlflow: int
    prefect: int

    @classmethod
    def from_env(cls) -> Ports:
        """PLATFORM_PG_PORT, PLATFORM_MLFLOW_PORT, PLATFORM_PREFECT_PORT, else the defaults."""
        return cls(
            **{
                key: int(os.environ.get(f"PLATFORM_{key.upper()}_PORT", default))
                for key, default in DEFAULT_PORTS.items()
            }
        )

    @classmethod
    def free(cls) -> Ports:
        """Three distinct free ports (tests: never the ones a developer's platform uses)."""
        ports: set[int] = set()
        while len(ports) < 3:
            ports.add(free_port())
        return cls(*sorted(ports))


@dataclasses.dataclass(frozen=True)
class Platform:
    """A running platform: where its state is, its ports and the database account."""

    state: Path
    ports: Ports
    user: str
    password: str = dataclasses.field(repr=False)  # not in tracebacks and test reports

    @property
    def mlflow_uri(self) -> str:
        return f"http://127.0.0.1:{self.ports.mlflow}"

    @property
    def prefect_api_url(self) -> str:
        return prefect_stack.api_url(self.ports.prefect)

    def db_url(self, database: str, driver: str = "psycopg2") -> str:
        """SQLAlchemy URL of ``database`` (``driver``: psycopg2 for MLflow, asyncpg for Prefect)."""
        return (
            f"postgresql+{driver}://{quote(self.user, safe='')}:{quote(self.password, safe='')}"
            f"@127.0.0.1:{self.ports.pg}/{database}"
        )

    def client_env(self) -> dict[str, str]:
        """The environment of a process that uses the platform: a worker, `prefect deploy`,
        a pipeline started by hand (this venv first, no telemetry)."""
        env = prefect_stack.stack_env(self.ports.prefect, self.state)
        env["MLFLOW_TRACKING_URI"] = self.mlflow_uri
        return env

    def connect(self, database: str = "postgres", timeout_s: int = 5) -> PgConnection:
        """A psycopg2 connection to ``database`` over TCP, with the generated credentials."""
        return psycopg2.connect(
            host="127.0.0.1",
            port=self.ports.pg,
            user=self.user,
            password=self.password,
            dbname=database,
            connect_timeout=timeout_s,
        )


def pg_bindir() -> Path:
    """The folder of PostgreSQL's server binaries: PLATFORM_PG_BINDIR, the one of `initdb` on
    PATH, else the newest /usr/lib/postgresql/<version>/bin (Debian keeps them off PATH)."""
    needed = ("initdb", "pg_ctl", "postgres")
    candidates = []
    if configured := os.environ.get("PLATFORM_PG_BINDIR"):
        candidates.append(Path(configured))
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).resolve().parent)
    versions = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(versions, key=lambda p: _version(p.parent.name), reverse=True)
    for folder in candidates:
        if all(os.access(folder / name, os.X_OK) for name in needed):
            return folder
    raise PostgresMissing(
        "PostgreSQL's server binaries (initdb, pg_ctl, postgres) are neither on PATH nor in "
        f"/usr/lib/postgresql/<version>/bin: install them (`{INSTALL_HINT}`, Debian/Ubuntu) "
        "or set PLATFORM_PG_BINDIR to their folder. The platform does not fall back to SQLite."
    )


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def pg_os_user() -> str | None:
    """The user PostgreSQL runs as: ourselves, except as root, which initdb and postgres refuse
    (a superuser server could be made to run anything): then PLATFORM_PG_OS_USER, default
    `postgres` (the system user Debian's package creates)."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("PLATFORM_PG_OS_USER", "postgres")
    try:
        uid = as_user(name)["user"]
    except KeyError:
        uid = None
    if uid is None or uid == 0:
        raise PlatformError(
            "initdb and postgres refuse to run as root, and there is no unprivileged user "
            f"{name!r} to run them as: create one (`useradd --system postgres`; "
            f"`{INSTALL_HINT}` does) or set PLATFORM_PG_OS_USER to an unprivileged user."
        )
    return name


def credentials(state: Path) -> tuple[str, str]:
    """The database account (user, password) of this state folder, generated on first use
    into ``state/credentials.env`` (mode 0600, never committed: .gitignore)."""
    path = state / "credentials.env"
    if path.exists():
        values = dict(
            line.split("=", 1)
            for line in path.read_text().splitlines()
            if "=" in line and not line.startswith("#")
        )
        return values["PLATFORM_DB_USER"], values["PLATFORM_DB_PASSWORD"]
    password = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(
            "# generated by `python -m ops.platform up`: the PostgreSQL account of MLflow\n"
            "# and Prefect (superuser of this private cluster). Never commit it.\n"
            f"PLATFORM_DB_USER={DB_USER}\nPLATFORM_DB_PASSWORD={password}\n"
        )
    return DB_USER, password


def _prepare_dirs(state: Path, os_user: str | None) -> tuple[Path, Path]:
    """PostgreSQL's data and socket folders, owned by the user it runs as; fails early (not in
    initdb) when that user cannot reach them."""
    data, sockets = state / "postgres", state / "run"
    for folder in (data, sockets):
        folder.mkdir(mode=0o700, exist_ok=True)
        if os_user is not None:
            ids = as_user(os_user)
            os.chown(folder, ids["user"], ids["group"])
    if os_user is not None:
        reach = subprocess.run(["test", "-w", str(data)], **as_user(os_user))
        if reach.returncode != 0:
            raise PlatformError(
                f"PostgreSQL runs as {os_user!r} (initdb and postgres refuse root), who cannot "
                f"write {data}: make the folders above it traversable (chmod o+x) or use "
                "another state folder."
            )
    if len(str(sockets / ".s.PGSQL.65535")) > SOCKET_PATH_MAX:
        raise PlatformError(f"{sockets} is too long for a unix socket: use a shorter state folder")
    return data, sockets


def _initdb(bindir: Path, data: Path, user: str, password: str, os_user: str | None) -> None:
    """A new cluster in ``data`` (once): superuser ``user``, password (scram-sha-256) required
    on the socket and on TCP alike, UTF-8 whatever the machine's locale."""
    if (data / "PG_VERSION").exists():
        return
    pwfile = data.parent / ".initdb-password"
    fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(password + "\n")
    try:
        if os_user is not None:
            ids = as_user(os_user)
            os.chown(pwfile, ids["user"], ids["group"])
        done = subprocess.run(
            [
                str(bindir / "initdb"),
                "--pgdata",
                str(data),
                "--username",
                user,
                "--pwfile",
                str(pwfile),
                "--auth",
                "scram-sha-256",
                "--encoding",
                "UTF8",
                "--no-locale",
            ],
            capture_output=True,
            text=True,
            cwd=data.parent,
            **as_user(os_user),
        )
    finally:
        pwfile.unlink(missing_ok=True)
    if done.returncode != 0:
        raise PlatformError(f"initdb failed:\n{done.stdout}{done.stderr}")


def _mark_logs(state: Path, names: Sequence[str]) -> None:
    """Start the log of each service in ``names`` (appended to across runs) with a line that
    ``_tail`` stops at: a failure then shows this run's lines, not the last run's."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    for name in names:
        with open(state / f"{name}.log", "a") as log:
            log.write(f"{LOG_MARK} {stamp}\n")


def _tail(log: Path, lines: int = 30) -> str:
    """The last ``lines`` lines this run wrote to ``log``."""
    try:
        text = log.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return "(no log)"
    starts = [i for i, line in enumerate(text) if line.startswith(LOG_MARK)]
    text = text[starts[-1] + 1 :] if starts else text
    return "\n".join(text[-lines:]) or "(nothing logged yet)"


def _healthy(check: Callable[[], None], log: Path) -> None:
    """Run a wait-until-healthy ``check``; on failure add the tail of the process's log."""
    try:
        check()
    except ServiceError as exc:
        raise PlatformError(f"{exc}\n--- the last lines of {log} ---\n{_tail(log)}") from None


def _wait_postgres(platform: Platform, server: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise ServiceError(f"PostgreSQL exited ({server.returncode})")
        try:
            platform.connect(timeout_s=2).close()
            return
        except psycopg2.OperationalError:
            time.sleep(0.5)
    raise ServiceError(f"PostgreSQL accepts no connection after {timeout_s} s")


def _create_databases(platform: Platform) -> None:
    conn = platform.connect()
    conn.autocommit = True  # CREATE DATABASE cannot run in a transaction
    try:
        with conn.cursor() as cur:
            for database in DATABASES:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
                if cur.fetchone() is None:
                    cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    finally:
        conn.close()


def running(state: Path = STATE_DIR) -> dict[str, int | None]:
    """Each service's pid, None when it is not running."""
    out: dict[str, int | None] = {}
    for name in SERVICES:
        pid = recorded_pid(state, name)
        out[name] = pid if pid is not None and process_running(pid) else None
    return out


# what port a service listens on, by the name `Ports` gives it
PORT_OF = {"postgres": "pg", "mlflow": "mlflow", "prefect": "prefect"}


def _choose_ports(state: Path, asked: Ports | None, alive: Sequence[str]) -> Ports:
    """The ports to start on: those the running services use (a different request is an
    error: they are left alone), else ``asked``, else the saved or the default ones."""
    saved = (state / "platform.json").exists()
    if alive and saved and asked is not None and asked != _saved_ports(state):
        raise PlatformError(
            f"the platform in {state} runs ({', '.join(alive)}) on {_saved_ports(state)}, not "
            f"the ports asked ({asked}): ask for those, or run `make platform-down` first"
        )
    ports = _saved_ports(state) if alive and saved else asked or _saved_ports(state)
    wanted = dataclasses.asdict(ports)
    if len(set(wanted.values())) < len(wanted):
        raise PlatformError(f"the three ports must differ: {wanted}")
    return ports


def _clear_leftovers(state: Path, name: str) -> None:
    """Stop what is left of a service whose leader died (`kill -9`), e.g. an MLflow worker
    still holding the port: the rest of the dead leader's process group (``start_service``).
    PostgreSQL's backends have sessions of their own and leave by themselves
    (``_start_postgres`` waits for them)."""
    pid = recorded_pid(state, name)
    if pid is not None:
        stop_group(pid)
        (state / f"{name}.pid").unlink(missing_ok=True)


def up(
    state: Path = STATE_DIR,
    ports: Ports | None = None,
    *,
    mlflow_workers: int = 2,
    timeout_s: float = HEALTH_TIMEOUT_S,
) -> Platform:
    """Start what of the platform is not running (all of it the first time): PostgreSQL
    (databases `mlflow` and `prefect`), then the MLflow and Prefect servers on it, each waited
    for until healthy. What runs is left alone, so after a crash or a `kill -9` of any one of
    them this brings it back, on the data it had. On any failure, what this call started is
    stopped (everything, when nothing ran before)."""
    bindir = pg_bindir()
    os_user = pg_os_user()
    state.mkdir(parents=True, exist_ok=True)
    state = state.resolve()
    alive = [name for name, pid in running(state).items() if pid is not None]
    if len(alive) == len(SERVICES):
        raise AlreadyRunning(f"the platform in {state} is already running")
    ports = _choose_ports(state, ports, alive)
    wanted = dataclasses.asdict(ports)
    missing = [name for name in SERVICES if name not in alive]
    for name in missing:
        _clear_leftovers(state, name)
        port = wanted[PORT_OF[name]]
        if not port_free(port):
            raise PlatformError(
                f"port {port} on 127.0.0.1 (for {name}) is in use: set "
                f"PLATFORM_{PORT_OF[name].upper()}_PORT to a free one"
            )
    user, password = credentials(state)
    platform = Platform(state, ports, user, password)
    data, sockets = _prepare_dirs(state, os_user)
    _initdb(bindir, data, user, password, os_user)
    (state / "platform.json").write_text(json.dumps(wanted) + "\n")
    _mark_logs(state, missing)
    try:
        _start(platform, missing, bindir, data, sockets, os_user, mlflow_workers, timeout_s)
    except BaseException:
        if alive:
            for name in reversed(missing):
                _clear_leftovers(state, name)
        else:
            down(state)
        raise
    return platform


def _start_postgres(
    platform: Platform,
    bindir: Path,
    data: Path,
    sockets: Path,
    os_user: str | None,
    timeout_s: float,
) -> None:
    """Start PostgreSQL on ``data`` and wait until it accepts connections.

    The backends of a killed postmaster (each in a session of its own, so not stopped with its
    group) leave once they notice; until then they hold its shared memory and a new postmaster
    exits at once ("pre-existing shared memory block ... is still in use"). It is started
    again until they are gone, for up to ``SHMEM_WAIT_S``."""
    state, log = platform.state, platform.state / "postgres.log"
    deadline = time.monotonic() + SHMEM_WAIT_S
    while True:
        server = start_service(
            "postgres",
            [
                str(bindir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(platform.ports.pg),
                "-k",
                str(sockets),
                "-c",
                "listen_addresses=127.0.0.1",
            ],
            state,
            {k: v for k, v in os.environ.items() if not k.startswith("PG")},
            user=os_user,
            cwd=state,
        )
        try:
            _healthy(functools.partial(_wait_postgres, platform, server, timeout_s), log)
            return
        except PlatformError:
            if SHMEM_IN_USE not in _tail(log) or time.monotonic() > deadline:
                raise
            time.sleep(1)


def _start(
    platform: Platform,
    names: Sequence[str],
    bindir: Path,
    data: Path,
    sockets: Path,
    os_user: str | None,
    mlflow_workers: int,
    timeout_s: float,
) -> None:
    """Start the services ``names`` (in SERVICES' order) and wait until each is healthy."""
    state, ports = platform.state, platform.ports
    if "postgres" in names:
        _start_postgres(platform, bindir, data, sockets, os_user, timeout_s)
        _create_databases(platform)
    servers: list[tuple[str, subprocess.Popen, str, str]] = []
    if "mlflow" in names:
        mlflow_env = service_env()
        # the URI (with the password) goes in the environment, not on the command line (`ps`)
        mlflow_env["MLFLOW_BACKEND_STORE_URI"] = platform.db_url("mlflow")
        mlflow = start_service(
            "mlflow",
            [
                "mlflow",
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(ports.mlflow),
                "--workers",
                str(mlflow_workers),
                "--serve-artifacts",
                "--artifacts-destination",
                str(state / "mlartifacts"),
            ],
            state,
            mlflow_env,
            cwd=state,  # whatever a server writes to its working directory stays in the state
        )
        servers.append(("mlflow", mlflow, platform.mlflow_uri, "the MLflow server"))
    if "prefect" in names:
        prefect_env = prefect_stack.stack_env(ports.prefect, state)  # this venv, no telemetry
        prefect_env["PREFECT_HOME"] = str(state / "prefect-home")
        prefect_env["PREFECT_API_DATABASE_CONNECTION_URL"] = platform.db_url("prefect", "asyncpg")
        prefect = start_service(
            "prefect",
            ["prefect", "server", "start", "--host", "127.0.0.1", "--port", str(ports.prefect)],
            state,
            prefect_env,
            cwd=state,
        )
        servers.append(("prefect", prefect, platform.prefect_api_url, "the Prefect server"))
    # both servers create their schema on first start: they are started together
    for name, server, url, what in servers:
        log = state / f"{name}.log"
        _healthy(functools.partial(wait_healthy, url, server, log, what, timeout_s), log)


def orchestrate(
    platform: Platform, repo: Path, workers: Sequence[str], *, deploy: bool = True
) -> list[str]:
    """On the platform's Prefect server: the work pools and the deployments of ``repo``'s
    prefect.yaml (their flows run in ``repo``) unless not ``deploy``, and a process worker per
    pool in ``workers`` that is not running yet, which logs to the platform's MLflow server;
    returns the pools whose worker it started."""
    env = platform.client_env()
    if deploy:
        prefect_stack.deploy(env, repo)
    started = []
    for pool in workers:
        pid = recorded_pid(platform.state, f"worker-{pool}")
        if pid is None or not process_running(pid):
            prefect_stack.start_worker(pool, platform.state, env, cwd=repo)
            started.append(pool)
    return started


def attach(state: Path = STATE_DIR) -> Platform:
    """The platform an earlier `up` started in ``state`` (its saved ports and account)."""
    state = state.resolve()
    user, password = credentials(state)
    return Platform(state, _saved_ports(state), user, password)


def _http_status(url: str, timeout_s: float = 5.0) -> int | None:
    """The HTTP status ``url`` answers with; None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return None


def _server_problem(base: str, database_check: str) -> str:
    """Why a server whose process runs does not do its work ("" when it does): /health alone
    says the process answers, ``database_check`` (a path under ``base``) that its database
    does too."""
    if (code := _http_status(f"{base}/health")) != 200:
        return f"{base}/health answers {code or 'nothing'}"
    if (code := _http_status(f"{base}{database_check}")) != 200:
        return f"its database does not answer ({database_check}: {code or 'nothing'})"
    return ""


def health(state: Path = STATE_DIR) -> dict[str, Health]:
    """Each service's state, asked of the service itself: PostgreSQL must accept a
    connection, MLflow and Prefect must answer a request that reads their database."""
    pids = running(state)
    if not (state / "credentials.env").exists():
        return {name: Health("stopped", None) for name in SERVICES}
    platform = attach(state)
    problems: dict[str, Callable[[], str]] = {
        "postgres": lambda: _postgres_problem(platform),
        # the Default experiment (id 0) is a row of the `experiments` table
        "mlflow": lambda: _server_problem(
            platform.mlflow_uri, "/api/2.0/mlflow/experiments/get?experiment_id=0"
        ),
        "prefect": lambda: _server_problem(platform.prefect_api_url, "/ready"),
    }
    out = {}
    for name in SERVICES:
        if (pid := pids[name]) is None:
            out[name] = Health("stopped", None)
        elif problem := problems[name]():
            out[name] = Health("degraded", pid, problem)
        else:
            out[name] = Health("running", pid)
    return out


def _postgres_problem(platform: Platform) -> str:
    try:
        platform.connect(timeout_s=5).close()
    except psycopg2.OperationalError as exc:
        return f"accepts no connection ({str(exc).strip().splitlines()[0]})"
    return ""


def down(state: Path = STATE_DIR) -> list[str]:
    """Stop the workers, Prefect, MLflow, then PostgreSQL (`pg_ctl stop -m fast`: it ends the
    sessions and shuts down cleanly), whichever of them still run; returns the names of those
    stopped."""
    stopped = stop_recorded(sorted(state.glob("worker-*.pid")))
    for name in reversed(SERVICES):
        pid = recorded_pid(state, name)
        was_running = pid is not None and process_running(pid)
        if name == "postgres":
            was_running = _pg_ctl_stop(state / "postgres") or was_running
        if pid is not None and process_running(pid):
            stop_group(pid)  # the postmaster's group, if pg_ctl could not stop it
        if was_running:
            stopped.append(name)
        (state / f"{name}.pid").unlink(missing_ok=True)
    return stopped


def _pg_ctl_stop(data: Path, timeout_s: int = 60) -> bool:
    """`pg_ctl stop -m fast` on ``data`` when a postmaster holds it; whether one did."""
    if not (data / "postmaster.pid").exists():
        return False
    try:
        bindir, os_user = pg_bindir(), pg_os_user()
    except PlatformError:
        return True  # no pg_ctl to run: `down` falls back to signalling the recorded pid
    subprocess.run(
        [str(bindir / "pg_ctl"), "stop", "-D", str(data), "-m", "fast", "-w", "-t", str(timeout_s)],
        capture_output=True,
        cwd=data.parent,
        **as_user(os_user),
    )
    return True


@contextlib.contextmanager
def running_platform(
    state: Path,
    ports: Ports | None = None,
    *,
    mlflow_workers: int = 1,
    timeout_s: float = HEALTH_TIMEOUT_S,
) -> Iterator[Platform]:
    """The platform in ``state`` on ``ports`` (default: free ones) for a `with` block; it is
    stopped when the block ends (with any worker started in ``state``), also on failure."""
    try:
        yield up(state, ports or Ports.free(), mlflow_workers=mlflow_workers, timeout_s=timeout_s)
    finally:
        down(state)


def _summary(platform: Platform) -> str:
    state = os.path.relpath(platform.state)
    return (
        f"PostgreSQL: 127.0.0.1:{platform.ports.pg}, databases {' and '.join(DATABASES)} "
        f"(user {platform.user}, password in {state}/credentials.env)\n"
        f"MLflow:     {platform.mlflow_uri}  (artifacts in {state}/mlartifacts)\n"
        f"Prefect:    http://127.0.0.1:{platform.ports.prefect}  (UI and API)\n"
        f"deployments: reactdiff-pipeline/cpu, reactdiff-pipeline/gpu-workspace (README: "
        "Running on several machines)\n"
        f"logs and pids in {state}/\n"
        f"export MLFLOW_TRACKING_URI={platform.mlflow_uri}\n"
        f"export PREFECT_API_URL={platform.prefect_api_url}"
    )


def _saved_ports(state: Path) -> Ports:
    try:
        return Ports(**json.loads((state / "platform.json").read_text()))
    except FileNotFoundError:
        return Ports.from_env()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.platform", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--state", type=Path, default=STATE_DIR, help="state folder")
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("up", help="start PostgreSQL, the MLflow and the Prefect server")
    env_ports = Ports.from_env()
    start.add_argument("--pg-port", type=int, default=env_ports.pg)
    start.add_argument("--mlflow-port", type=int, default=env_ports.mlflow)
    start.add_argument("--prefect-port", type=int, default=env_ports.prefect)
    start.add_argument(
        "--mlflow-workers", type=int, default=int(os.environ.get("PLATFORM_MLFLOW_WORKERS", 2))
    )
    start.add_argument("--timeout", type=float, default=HEALTH_TIMEOUT_S, help="seconds each")
    start.add_argument(
        "--workers",
        nargs="*",
        choices=prefect_stack.POOLS,
        default=["cpu"],
        help="process workers to start here (default: cpu; GPU machines start their own)",
    )
    sub.add_parser("down", help="stop them (PostgreSQL last)")
    sub.add_parser(
        "status", help="which of them run, are degraded or stopped; exit 0 only when all run"
    )
    args = parser.parse_args(argv)
    state: Path = args.state
    try:
        if args.command == "down":
            print("stopped:", ", ".join(down(state)) or "nothing was running")
            return 0
        if args.command == "status":
            return _status(state)
        ports = Ports(args.pg_port, args.mlflow_port, args.prefect_port)
        before = running(state)
        try:
            platform = up(state, ports, mlflow_workers=args.mlflow_workers, timeout_s=args.timeout)
        except AlreadyRunning as exc:
            platform = attach(state)
            print(exc)
        try:  # deployments live in Prefect's database: made again only with a new server
            workers = orchestrate(
                platform, Path.cwd(), args.workers, deploy=before["prefect"] is None
            )
        except BaseException:
            if not any(before.values()):
                down(state)
            raise
        if any(before.values()):  # a heal: say what was down
            again = [name for name, pid in before.items() if pid is None]
            again += [f"worker-{pool}" for pool in workers]
            print(f"started again: {', '.join(again) or 'nothing (all of it runs)'}")
    except ServiceError as exc:  # a PlatformError, or a failed `prefect` command of `orchestrate`
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(_summary(platform))
    return 0


def _status(state: Path) -> int:
    """Print each service's and worker's state; 0 only when every service runs, healthy."""
    services = health(state)
    ports = _saved_ports(state)
    where = {
        "postgres": f"127.0.0.1:{ports.pg}",
        "mlflow": f"http://127.0.0.1:{ports.mlflow}",
        "prefect": f"http://127.0.0.1:{ports.prefect}",
    }
    for name, state_of in services.items():
        print(state_of.line(name, where[name]))
    for pid_file in sorted(state.glob("worker-*.pid")):
        pid = int(pid_file.read_text())
        print(f"{pid_file.stem:9} {'running' if process_running(pid) else 'stopped'} (pid {pid})")
    return 0 if all(h.state == "running" for h in services.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
