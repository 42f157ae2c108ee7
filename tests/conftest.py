"""Shared fixtures: offline guard, temp stores on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.pop("OPENAI_API_KEY", None)

from settings import load_settings  # noqa: E402
from store import Store  # noqa: E402

# Tests may talk to this machine only: loopback, and the private range our network-namespace tests create.
_ALLOWED_NETS = [ipaddress.ip_network(n) for n in ("127.0.0.0/8", "::1/128", "10.77.0.0/16")]
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check_address(address: object) -> None:
    if not isinstance(address, tuple):
        return  # unix sockets
    host = str(address[0])
    try:
        ip = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        if host == "localhost":
            return
        raise RuntimeError(f"test tried to reach {host!r}: tests must stay offline") from None
    if not any(ip in net for net in _ALLOWED_NETS):
        raise RuntimeError(f"test tried to reach {host}: tests must stay offline (no real model, no network)")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check_address(address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check_address(address)
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True)
def _offline_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail any test that tries to reach a real model or anything beyond this machine."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    yield


@pytest.fixture
def settings(tmp_path: Path):
    """Settings on a fresh SQLite file, ignoring any .env in the working directory."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'athena.db'}", "ATHENA_LOG_FORMAT": "text"}
    return load_settings(env, env_file=tmp_path / "absent.env")


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(f"sqlite:///{tmp_path / 'athena.db'}")
    yield store
    store.close()


def _pg_admin_url() -> str | None:
    return os.environ.get("ATHENA_TEST_POSTGRES_URL") or None


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run (dropped afterwards); skipped without a server."""
    admin = _pg_admin_url()
    if not admin:
        pytest.skip(
            "PostgreSQL tests need ATHENA_TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)"
        )
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from store.db import normalise_url

    admin_url = make_url(normalise_url(admin))
    name = f"athena_test_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture
def postgres_store(postgres_database: str) -> Iterator[Store]:
    """A Store on the test PostgreSQL database, emptied before each test."""
    from sqlalchemy import text

    store = Store.open(postgres_database, migrate=False)
    with store.write() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    store.migrate()
    yield store
    with store.write() as conn:  # leave nothing behind for the next user of this database
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def any_store(request: pytest.FixtureRequest) -> Store:
    """The same test on SQLite always and on PostgreSQL when ATHENA_TEST_POSTGRES_URL is set."""
    return request.getfixturevalue(f"{request.param}_store")
