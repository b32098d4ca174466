"""Real database servers for the rotation tier, on free 127.0.0.1 ports.

* :class:`Postgres`: PostgreSQL 15 (``/usr/lib/postgresql/15/bin``, or ``ROTATION_TF_PG_BIN``),
  ``initdb`` and ``postgres`` run as the ``postgres`` system user in a fresh data folder,
  password (SCRAM) authentication on TCP.
* :class:`MariaDB`: ``mariadb-install-db`` and ``mariadbd --user=mysql`` with their own data
  folder, socket and port; ``--skip-name-resolve`` so that a TCP client is ``'%'``.

Each is started once per test session and stopped by its PID (never by name). Every wait
loop is bounded.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from helpers.harness import free_port

PG_BIN = Path(os.environ.get("ROTATION_TF_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _owned_tmp(prefix: str, user: str) -> Path:
    """A fresh folder under /tmp owned by ``user`` (pytest's tmp folders are root-only)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    pw = pwd.getpwnam(user)
    os.chown(path, pw.pw_uid, pw.pw_gid)
    return path


def _stop(proc: subprocess.Popen | None, sig: int) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, sig)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _wait(ready, proc: subprocess.Popen, what: str, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    for _ in range(int(seconds * 10)):  # bounded
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        if ready():
            return
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start within {seconds} s:\n{log.read_text()[-2000:]}")


class Postgres:
    superuser = "postgres"

    def __init__(self) -> None:
        self.port = free_port()
        self.host = "127.0.0.1"
        self.password = "pg-super-" + os.urandom(6).hex()
        self.proc: subprocess.Popen | None = None
        self.dir: Path | None = None

    @staticmethod
    def missing() -> str | None:
        for exe in ("initdb", "postgres"):
            if not (PG_BIN / exe).exists():
                return f"PostgreSQL 15 not found ({PG_BIN / exe})"
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "no postgres system user"
        return None

    def start(self) -> Postgres:
        self.dir = _owned_tmp("rotation-pg-", "postgres")
        data = self.dir / "data"
        pwfile = self.dir / "pw"
        pwfile.write_text(self.password + "\n")
        shutil.chown(pwfile, "postgres")
        subprocess.run(
            [str(PG_BIN / "initdb"), "-D", str(data), "-U", self.superuser, "--auth=scram-sha-256",
             f"--pwfile={pwfile}", "-E", "UTF8", "--no-sync", "--no-instructions"],
            user="postgres", check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        pwfile.unlink()
        log = self.dir / "postgres.log"
        self.proc = subprocess.Popen(
            [str(PG_BIN / "postgres"), "-D", str(data), "-p", str(self.port), "-c", "listen_addresses=127.0.0.1",
             "-c", f"unix_socket_directories={self.dir}", "-c", "fsync=off", "-c", "max_connections=40",
             "-c", "shared_buffers=16MB"],
            user="postgres", stdout=open(log, "wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        _wait(lambda: self.login(self.superuser, self.password), self.proc, "postgres", log)
        return self

    def login(self, user: str, password: str, dbname: str = "postgres") -> bool:
        """True when ``user`` can log in with ``password`` over TCP."""
        import pgdb

        try:
            conn = pgdb.connect(host=self.host, port=self.port, user=user, password=password, database=dbname,
                                connect_timeout=3, sslmode="disable")  # fmt: skip
        except Exception:
            return False
        conn.close()
        return True

    def execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        import pgdb

        conn = pgdb.connect(host=self.host, port=self.port, user=self.superuser, password=self.password,
                            database="postgres", connect_timeout=5, sslmode="disable")  # fmt: skip
        try:
            cur = conn.cursor()
            cur.execute(sql, params or None)
            rows = cur.fetchall() if cur.description else []
            conn.commit()
            return [tuple(r) for r in rows]
        finally:
            conn.close()

    def stop(self) -> None:
        _stop(self.proc, signal.SIGINT)  # fast shutdown
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)


class MariaDB:
    superuser = "admin"

    def __init__(self) -> None:
        self.port = free_port()
        self.host = "127.0.0.1"
        self.password = "my-super-" + os.urandom(6).hex()
        self.proc: subprocess.Popen | None = None
        self.dir: Path | None = None

    @staticmethod
    def missing() -> str | None:
        for exe in ("mariadbd", "mariadb-install-db"):
            if shutil.which(exe) is None and not Path("/usr/sbin", exe).exists():
                return f"{exe} not found (apt-get install mariadb-server)"
        return None

    def start(self) -> MariaDB:
        self.dir = _owned_tmp("rotation-mariadb-", "mysql")
        data = self.dir / "data"
        common = [f"--datadir={data}", "--user=mysql"]
        subprocess.run(
            [shutil.which("mariadb-install-db") or "/usr/bin/mariadb-install-db", "--no-defaults", *common,
             "--auth-root-authentication-method=socket", "--skip-test-db"],
            check=True, capture_output=True, timeout=180,
        )  # fmt: skip
        log = self.dir / "mariadb.log"
        self.socket = self.dir / "mysqld.sock"
        mariadbd = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
        self.proc = subprocess.Popen(
            [mariadbd, "--no-defaults", *common, f"--socket={self.socket}", f"--port={self.port}",
             "--bind-address=127.0.0.1", "--skip-name-resolve", f"--pid-file={self.dir / 'mysqld.pid'}",
             "--innodb-buffer-pool-size=16M", "--skip-log-bin", f"--log-error={log}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        log.touch()
        _wait(self._socket_ready, self.proc, "mariadbd", log)
        self.execute_socket(
            f"CREATE USER '{self.superuser}'@'%' IDENTIFIED BY '{self.password}'",
            f"GRANT ALL PRIVILEGES ON *.* TO '{self.superuser}'@'%' WITH GRANT OPTION",
        )
        return self

    def _socket_ready(self) -> bool:
        import pymysql

        try:
            pymysql.connect(unix_socket=str(self.socket), user="root", connect_timeout=2).close()
        except Exception:
            return False
        return True

    def execute_socket(self, *statements: str) -> None:
        import pymysql

        conn = pymysql.connect(unix_socket=str(self.socket), user="root", connect_timeout=5)
        try:
            with conn.cursor() as cur:
                for sql in statements:
                    cur.execute(sql)
            conn.commit()
        finally:
            conn.close()

    def login(self, user: str, password: str) -> bool:
        import pymysql

        try:
            pymysql.connect(host=self.host, port=self.port, user=user, password=password, connect_timeout=3).close()
        except Exception:
            return False
        return True

    def execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        import pymysql

        conn = pymysql.connect(host=self.host, port=self.port, user=self.superuser, password=self.password,
                               connect_timeout=5)  # fmt: skip
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params or None)
                rows = list(cur.fetchall())
            conn.commit()
            return rows
        finally:
            conn.close()

    def stop(self) -> None:
        _stop(self.proc, signal.SIGTERM)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
