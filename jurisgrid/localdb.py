"""A project-local PostgreSQL/PostGIS cluster, for when no database URL is given.

``initdb`` into ``<home>/pgdata`` with the system's PostgreSQL binaries, a unix socket in
``<home>/run`` and a free localhost port. PostgreSQL refuses to run as root, so when we are
root the server runs as an unprivileged user (``postgres`` if it exists, else ``nobody``).
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DB_USER = "jurisgrid"


class ClusterError(RuntimeError):
    """The local cluster cannot be set up or started; the message says how to fix it."""


def pg_bindir() -> Path:
    """The PostgreSQL server binaries: ``pg_config --bindir`` or the usual install folders."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    candidates += sorted(
        (Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates += [Path("/usr/local/pgsql/bin"), Path("/opt/homebrew/bin"), Path("/usr/local/bin")]
    for c in candidates:
        if (c / "initdb").exists() and (c / "pg_ctl").exists():
            return c
    raise ClusterError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found. On Debian/Ubuntu install them with:\n"
        "  sudo apt-get install postgresql postgresql-15-postgis-3   (use your PostgreSQL version)\n"
        "or set JURISGRID_DATABASE_URL to an existing PostGIS database."
    )


def pg_version(bindir: Path) -> int:
    out = subprocess.run([str(bindir / "pg_ctl"), "--version"], capture_output=True, text=True)
    # "pg_ctl (PostgreSQL) 15.18 (Debian ...)"
    return int(out.stdout.split(")")[1].strip().split(".")[0])


def check_postgis(bindir: Path) -> None:
    """Raise a clear error when PostGIS is not installed for this PostgreSQL."""
    version = pg_version(bindir)
    sharedirs = [Path(f"/usr/share/postgresql/{version}")]
    pg_config = bindir / "pg_config"
    if pg_config.exists():
        out = subprocess.run([str(pg_config), "--sharedir"], capture_output=True, text=True)
        if out.returncode == 0:
            sharedirs.insert(0, Path(out.stdout.strip()))
    if any((d / "extension" / "postgis.control").exists() for d in sharedirs):
        return
    raise ClusterError(
        f"PostGIS is not installed for PostgreSQL {version}. On Debian/Ubuntu:\n"
        f"  sudo apt-get install postgresql-{version}-postgis-3\n"
        "(or run the README's first command, which installs it)."
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def is_project_folder(folder: Path) -> bool:
    """True when ``folder`` holds a jurisgrid checkout or deployment: a ``pyproject.toml`` that
    names the project ``jurisgrid``, or a ``.jurisgrid/`` state folder already there."""
    if (folder / ".jurisgrid").is_dir():
        return True
    pyproject = folder / "pyproject.toml"
    if not pyproject.is_file():
        return False
    import tomllib

    try:
        name = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {}).get("name")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return name == "jurisgrid"


def ensure_project_home(cluster: LocalCluster, *, explicit: bool) -> None:
    """Refuse to create a cluster implicitly outside a jurisgrid project.

    Every command that needs the database starts the local cluster on demand; run from some
    other folder, that used to ``initdb`` a new, empty cluster there without a word. Now a
    cluster is made on demand only where it is clearly wanted: it exists already, the home was
    named explicitly (``JURISGRID_HOME``), or the folder is a jurisgrid project
    (:func:`is_project_folder`). ``jurisgrid db start`` still creates one anywhere, on purpose.
    """
    if explicit or cluster.initialised or is_project_folder(cluster.home.parent):
        return
    raise ClusterError(
        f"{cluster.home.parent} is not a jurisgrid project folder (no pyproject.toml naming "
        "jurisgrid, no .jurisgrid/), so no database cluster was created here.\n"
        "Run the command from the project folder, or set JURISGRID_DATABASE_URL (an existing "
        "PostGIS database) or JURISGRID_HOME (the .jurisgrid folder to use), or create a "
        "cluster here on purpose with: jurisgrid db start")


@dataclass
class LocalCluster:
    home: Path

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def rundir(self) -> Path:
        return self.home / "run"

    @property
    def logfile(self) -> Path:
        return self.home / "postgres.log"

    # -- who runs the server -------------------------------------------------------------
    def _run_as(self) -> pwd.struct_passwd | None:
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "nobody"):
            try:
                return pwd.getpwnam(name)
            except KeyError:
                continue
        raise ClusterError("running as root and no unprivileged user (postgres/nobody) exists")

    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        user = self._run_as()
        kwargs: dict = {}
        if user is not None:
            kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        proc = subprocess.run(args, capture_output=True, text=True, cwd="/", **kwargs)
        if check and proc.returncode != 0:
            raise ClusterError(f"{Path(args[0]).name} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def _prepare_dirs(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.rundir.mkdir(parents=True, exist_ok=True)
        user = self._run_as()
        if user is not None:
            # the server user must reach its folders through the project path
            for d in (self.home, self.rundir):
                os.chown(d, user.pw_uid, user.pw_gid)
            p = self.home.resolve()
            for parent in [p, *p.parents]:
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    os.chmod(parent, mode | 0o001)
            if self.pgdata.exists():
                for root, dirs, files in os.walk(self.pgdata):
                    for n in dirs + files:
                        # a running server removes files as it goes (temporary files, old
                        # WAL segments): one that vanished needs no owner
                        with contextlib.suppress(FileNotFoundError):
                            os.lchown(os.path.join(root, n), user.pw_uid, user.pw_gid)
                os.chown(self.pgdata, user.pw_uid, user.pw_gid)

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold ``<home>/.lock`` (an exclusive ``flock``) while the cluster is made, started or
        stopped. Several processes start the same cluster at once — the test suite's two
        workers on a fresh clone, two commands run together — and without the lock the second
        could take a data folder the first was still making and start it on PostgreSQL's
        default port and socket, where no client of this cluster looks. The kernel drops the
        lock when its holder exits, so a killed process leaves nothing to clean up."""
        self.home.mkdir(parents=True, exist_ok=True)
        with (self.home / ".lock").open("a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def init(self) -> None:
        with self._locked():
            self._init()

    def _init(self) -> None:
        """``initdb`` into a sibling folder, add our settings, then rename it to ``pgdata``:
        ``pgdata`` exists only once it is whole, so an ``initdb`` that was interrupted leaves
        no half-made cluster that a later start would take for a finished one."""
        bindir = pg_bindir()
        check_postgis(bindir)
        if self.initialised:
            return
        self._prepare_dirs()
        if self.pgdata.exists() and any(self.pgdata.iterdir()):
            raise ClusterError(
                f"{self.pgdata} holds files but no PostgreSQL cluster (no PG_VERSION); "
                "move it away or delete it, then start again")
        staging = self.home / "pgdata.new"
        if staging.exists():
            shutil.rmtree(staging)   # what an interrupted init left
        self._run([
            str(bindir / "initdb"), "-D", str(staging), "-U", DB_USER, "--auth=trust",
            "-E", "UTF8", "--no-locale", "--no-instructions",
        ])
        with (staging / "postgresql.conf").open("a") as f:
            f.write(
                "\n# jurisgrid local cluster\n"
                "listen_addresses = '127.0.0.1'\n"
                f"port = {_free_port()}\n"
                f"unix_socket_directories = '{self.rundir.resolve()}'\n"
                "shared_buffers = 256MB\n"
                "work_mem = 32MB\n"
                "maintenance_work_mem = 256MB\n"
                "synchronous_commit = off\n"
                "max_connections = 100\n"
                "jit = off\n"
            )
        if self.pgdata.exists():
            self.pgdata.rmdir()      # an empty folder (made by hand, say) is replaced
        staging.rename(self.pgdata)

    @property
    def port(self) -> int:
        port = 5432
        for line in (self.pgdata / "postgresql.conf").read_text().splitlines():
            s = line.split("#", 1)[0].strip()
            if s.startswith("port") and "=" in s:
                port = int(s.split("=", 1)[1].strip())
        return port

    def running(self) -> bool:
        if not self.initialised:
            return False
        proc = self._run([str(pg_bindir() / "pg_ctl"), "-D", str(self.pgdata), "status"], check=False)
        return proc.returncode == 0

    def start(self) -> None:
        with self._locked():
            self._start()

    def _start(self) -> None:
        self._init()
        if self.running():
            return
        self._prepare_dirs()  # once, before a start: the ownership walk over pgdata is not free
        # a port taken by something else since initdb: pick another one
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", self.port))
            except OSError:
                conf = self.pgdata / "postgresql.conf"
                conf.write_text(conf.read_text() + f"port = {_free_port()}\n")
        logfile = self.home.resolve() / "postgres.log"
        if not logfile.exists():
            logfile.touch()
        user = self._run_as()
        if user is not None:
            os.chown(logfile, user.pw_uid, user.pw_gid)
        self._run([
            str(pg_bindir() / "pg_ctl"), "-D", str(self.pgdata), "-l", str(logfile),
            "-w", "-t", "60", "start",
        ])

    def stop(self) -> None:
        if not self.initialised:   # nothing to stop, and no folder made for the lock
            return
        with self._locked():
            if self.running():
                self._run([str(pg_bindir() / "pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "stop"])

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg2://{DB_USER}@/{dbname}?host={self.rundir.resolve()}&port={self.port}"

    def ensure_database(self, dbname: str) -> None:
        """Create the database if it does not exist yet (connects to the maintenance db)."""
        import psycopg2

        deadline = time.monotonic() + 30
        while True:
            try:
                conn = psycopg2.connect(
                    dbname="postgres", user=DB_USER, host=str(self.rundir.resolve()), port=self.port
                )
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{dbname}"')
        conn.close()

    def drop_database(self, dbname: str) -> None:
        import psycopg2

        conn = psycopg2.connect(
            dbname="postgres", user=DB_USER, host=str(self.rundir.resolve()), port=self.port
        )
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        conn.close()

    def drop_slot(self, index: int) -> None:
        """Drop replica ``index``'s replication slot, if there is one."""
        import psycopg2

        conn = psycopg2.connect(dbname="postgres", user=DB_USER, host=str(self.rundir.resolve()),
                                port=self.port)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                deadline = time.monotonic() + 10
                while True:  # a stopped standby's walsender takes a moment to let go of the slot
                    cur.execute("SELECT active FROM pg_replication_slots WHERE slot_name = %s",
                                (slot_name(index),))
                    row = cur.fetchone()
                    if row is None:
                        return
                    if not row[0] or time.monotonic() > deadline:
                        break
                    time.sleep(0.1)
                cur.execute("SELECT pg_drop_replication_slot(%s)", (slot_name(index),))
        finally:
            conn.close()


# -- streaming replicas (issue 17) ----------------------------------------------------------
REPLICA_PREFIX = "replica-"


def slot_name(index: int) -> str:
    """The physical replication slot of replica ``index`` on the primary: it keeps the WAL a
    stopped replica still needs, so the replica catches up when started again (and is dropped
    with the replica, or the primary would keep WAL for it forever)."""
    return f"jurisgrid_replica_{index}"


def parse_lsn(lsn: str) -> int:
    """A ``pg_lsn`` text (``16/B374D848``) as a byte position."""
    hi, sep, lo = lsn.strip().partition("/")
    if not sep:
        raise ValueError(f"not an LSN: {lsn!r}")
    return (int(hi, 16) << 32) + int(lo, 16)


@dataclass
class ReplicaCluster(LocalCluster):
    """A hot standby of a :class:`LocalCluster` in ``<home>/replica-<n>``: a ``pg_basebackup -R``
    copy of the primary's data folder, streaming from it, on a port of its own.

    PostgreSQL does the replication (physical, asynchronous); this class only makes, starts,
    stops and removes the copy. A standby answers reads only (``pg_is_in_recovery()``)."""

    index: int = 0

    def _init(self) -> None:
        if not self.initialised:
            raise ClusterError(f"no replica in {self.pgdata}; make one with: jurisgrid db replica add")

    @classmethod
    def make(cls, primary: LocalCluster, index: int | None = None) -> ReplicaCluster:
        """Copy the running ``primary`` with ``pg_basebackup -R`` (standby.signal and
        primary_conninfo written, WAL streamed during the copy, a replication slot created)
        into the next free ``replica-<n>`` folder, give it its own port and socket folder, and
        start it. The primary's defaults allow this (``wal_level=replica``, ``max_wal_senders``
        10, local replication connections trusted by initdb)."""
        if not primary.running():
            raise ClusterError("the primary is not running; start it with: jurisgrid db start")
        if index is None:
            taken = {r.index for r in replicas_of(primary)}
            index = next(i for i in range(1, 1000) if i not in taken)
        replica = cls(primary.home / f"{REPLICA_PREFIX}{index}", index=index)
        if replica.pgdata.exists():
            raise ClusterError(f"{replica.pgdata} exists already")
        replica._prepare_dirs()
        try:
            replica._run([
                str(pg_bindir() / "pg_basebackup"), "-D", str(replica.pgdata),
                "-h", str(primary.rundir.resolve()), "-p", str(primary.port), "-U", DB_USER,
                "-R", "-X", "stream", "-c", "fast", "-C", "-S", slot_name(index),
            ])
        except ClusterError:
            primary.drop_slot(index)
            shutil.rmtree(replica.home, ignore_errors=True)
            raise
        with (replica.pgdata / "postgresql.conf").open("a") as f:
            f.write(
                "\n# jurisgrid replica (later lines win over the primary's copied above)\n"
                f"port = {_free_port()}\n"
                f"unix_socket_directories = '{replica.rundir.resolve()}'\n"
                # queries on the standby hold back the primary's vacuum instead of being
                # cancelled by it ("canceling statement due to conflict with recovery")
                "hot_standby = on\n"
                "hot_standby_feedback = on\n"
            )
        (replica.pgdata / "postmaster.pid").unlink(missing_ok=True)
        replica.start()
        return replica

    def remove(self, primary: LocalCluster) -> None:
        """Stop the replica, delete its folder and drop its slot on the primary."""
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)
        if primary.running():
            primary.drop_slot(self.index)


def replicas_of(primary: LocalCluster) -> list[ReplicaCluster]:
    """The replicas made in ``primary``'s home folder, by index."""
    found = []
    for d in sorted(primary.home.glob(f"{REPLICA_PREFIX}*")):
        suffix = d.name[len(REPLICA_PREFIX):]
        if d.is_dir() and suffix.isdigit():
            found.append(ReplicaCluster(d, index=int(suffix)))
    return sorted(found, key=lambda r: r.index)
