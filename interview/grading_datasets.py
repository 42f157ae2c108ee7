"""Practice datasets for grading: built once from their SQL scripts into cached, read-only DuckDB files."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import stat
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import sqlglot
import sqlglot.errors
from sqlglot import exp
from sqlglot.errors import ErrorLevel

logger = logging.getLogger(__name__)

BUILD_FORMAT = "athena-dataset-1"
# When a script is not valid DuckDB SQL, these readings of it are tried in turn (portable DDL from other engines).
FALLBACK_SCRIPT_DIALECTS = ("postgres", "mysql", "sqlite", "tsql", "oracle", "snowflake")


class GradingError(Exception):
    """A usage problem: a dataset that does not build, a reference that does not run, a bad argument."""


@dataclass(frozen=True)
class Dataset:
    name: str  # e.g. "company", "nulls"
    script: str  # CREATE TABLE + INSERT statements (DuckDB SQL, or portable DDL of a common engine)
    hidden: bool = False  # hidden variants: candidates never see their data


@dataclass(frozen=True)
class BuiltDataset:
    dataset: Dataset
    digest: str
    path: Path
    schema: dict[str, dict[str, str]]  # table -> column -> DuckDB type


def default_cache_dir() -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"athena-grading-{uid}"


def dataset_digest(script: str) -> str:
    return hashlib.sha256(f"{BUILD_FORMAT}\0{duckdb.__version__}\0{script}".encode()).hexdigest()


def _ensure_private_dir(path: Path) -> Path:
    """Create the cache directory (0700) and refuse one that another user could have planted files in."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.stat()
    except OSError as exc:
        raise GradingError(
            f"The grading cache directory {path} cannot be used: {exc.strerror or exc}."
        ) from exc
    if not stat.S_ISDIR(info.st_mode):
        raise GradingError(f"The grading cache path {path} is not a directory.")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise GradingError(f"The grading cache directory {path} belongs to another user; choose another one.")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise GradingError(
            f"The grading cache directory {path} is writable by other users; make it private (0700)."
        )
    return path.resolve()


def _build_config() -> dict[str, str | bool | int | float | list[str]]:
    return {
        "enable_external_access": False,
        "autoload_known_extensions": False,
        "autoinstall_known_extensions": False,
        "memory_limit": "512MB",
        "threads": 1,
    }


def _schema(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = 'main' "
        "ORDER BY table_name, ordinal_position"
    ).fetchall()
    schema: dict[str, dict[str, str]] = {}
    for table, column, data_type in rows:
        schema.setdefault(table, {})[column] = data_type
    return schema


_SERIAL = {
    exp.DataType.Type.SERIAL: "INTEGER",
    exp.DataType.Type.SMALLSERIAL: "SMALLINT",
    exp.DataType.Type.BIGSERIAL: "BIGINT",
}
_IDENTITY = (exp.AutoIncrementColumnConstraint, exp.GeneratedAsIdentityColumnConstraint)


def _auto_increment(create: exp.Create, dialect: str) -> list[str]:
    """Turn AUTO_INCREMENT / IDENTITY / SERIAL (and SQLite's INTEGER PRIMARY KEY) columns into sequences."""
    schema = create.this
    if not isinstance(schema, exp.Schema) or not isinstance(schema.this, exp.Table):
        return []
    table = schema.this.name
    sequences = []
    for column in schema.find_all(exp.ColumnDef):
        constraints = list(column.args.get("constraints") or [])
        kinds = [c.args.get("kind") for c in constraints]
        data_type = column.args.get("kind")
        serial = isinstance(data_type, exp.DataType) and data_type.this in _SERIAL
        rowid = (
            dialect == "sqlite"
            and isinstance(data_type, exp.DataType)
            and data_type.this == exp.DataType.Type.INT
            and any(isinstance(k, exp.PrimaryKeyColumnConstraint) for k in kinds)
        )
        if not (serial or rowid or any(isinstance(k, _IDENTITY) for k in kinds)):
            continue
        sequence = f"{table}_{column.name}_seq"
        sequences.append(f'CREATE SEQUENCE "{sequence}"')
        if serial and isinstance(data_type, exp.DataType):
            column.set("kind", exp.DataType.build(_SERIAL[data_type.this]))
        kept = [c for c in constraints if not isinstance(c.args.get("kind"), _IDENTITY)]
        default = exp.DefaultColumnConstraint(this=exp.func("nextval", exp.Literal.string(sequence)))
        column.set("constraints", [*kept, exp.ColumnConstraint(kind=default)])
    return sequences


def _translate_script(script: str, dialect: str) -> str:
    statements: list[str] = []
    for tree in sqlglot.parse(script, read=dialect):
        if tree is None:
            continue
        if isinstance(tree, exp.Create) and str(tree.args.get("kind", "")).upper() == "TABLE":
            statements.extend(_auto_increment(tree, dialect))
        statements.append(tree.sql(dialect="duckdb", identify=True, unsupported_level=ErrorLevel.IGNORE))
    return ";\n".join(s for s in statements if s.strip())


def _script_variants(script: str) -> Iterator[tuple[str, str]]:
    """The script as written, then (lazily) its translations from other engines' DDL that differ from it."""
    yield "duckdb", script
    seen = {script}
    for dialect in FALLBACK_SCRIPT_DIALECTS:
        try:
            text = _translate_script(script, dialect)
        except (sqlglot.errors.SqlglotError, RecursionError):
            continue
        if text and text not in seen:
            seen.add(text)
            yield dialect, text


class DatasetStore:
    """Builds each dataset once per cache directory and remembers it for this process."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self._requested = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self._root: Path | None = None
        self._built: dict[str, BuiltDataset] = {}
        self._digests: dict[str, str] = {}  # script -> digest (a str caches its hash: lookups stay cheap)
        self._lock = threading.Lock()

    @property
    def root(self) -> Path:
        if self._root is None:
            self._root = _ensure_private_dir(self._requested)
        return self._root

    def get(self, dataset: Dataset) -> BuiltDataset:
        if not isinstance(dataset, Dataset):
            raise GradingError(f"Expected a Dataset, got {type(dataset).__name__}.")
        digest = self._digests.get(dataset.script)
        if digest is None:
            digest = dataset_digest(dataset.script)
            if len(self._digests) > 1024:
                self._digests.clear()
            self._digests[dataset.script] = digest
        built = self._built.get(digest)
        if built is not None:
            return (
                built if built.dataset == dataset else BuiltDataset(dataset, digest, built.path, built.schema)
            )
        with self._lock:
            built = self._built.get(digest)
            if built is None:
                built = self._load_or_build(dataset, digest)
                self._built[digest] = built
        return built if built.dataset == dataset else BuiltDataset(dataset, digest, built.path, built.schema)

    def _load_or_build(self, dataset: Dataset, digest: str) -> BuiltDataset:
        path = self.root / f"{digest}.duckdb"
        schema_path = self.root / f"{digest}.schema.json"
        if path.is_file() and schema_path.is_file():
            try:
                schema = json.loads(schema_path.read_text(encoding="utf-8"))
                if isinstance(schema, dict) and schema:
                    return BuiltDataset(dataset, digest, path, schema)
            except (OSError, ValueError):
                logger.warning(
                    "rebuilding dataset with an unreadable schema file", extra={"dataset": dataset.name}
                )
        schema = self._build(dataset, path, schema_path)
        return BuiltDataset(dataset, digest, path, schema)

    def _build(self, dataset: Dataset, path: Path, schema_path: Path) -> dict[str, dict[str, str]]:
        if not dataset.script.strip():
            raise GradingError(f"Dataset '{dataset.name}' has an empty script.")
        first_error = ""
        for dialect, script in _script_variants(dataset.script):
            tmp = path.with_name(f".{path.stem}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
            try:
                con = duckdb.connect(str(tmp), config=_build_config())
                try:
                    con.execute(script)
                    schema = _schema(con)
                    con.execute("CHECKPOINT")
                finally:
                    con.close()
            except duckdb.Error as exc:
                first_error = first_error or str(exc).strip().splitlines()[0]
                _remove(tmp)
                continue
            except BaseException:
                _remove(tmp)
                raise
            if not schema:
                _remove(tmp)
                raise GradingError(f"Dataset '{dataset.name}' builds no tables.")
            schema_tmp = schema_path.with_name(f".{schema_path.name}.{uuid.uuid4().hex}.tmp")
            schema_tmp.write_text(json.dumps(schema, sort_keys=True), encoding="utf-8")
            os.replace(schema_tmp, schema_path)
            os.replace(tmp, path)  # atomic: concurrent builders of the same script produce identical files
            _remove(Path(f"{tmp}.wal"))
            logger.info(
                "built dataset", extra={"dataset": dataset.name, "dialect": dialect, "path": str(path)}
            )
            return schema
        raise GradingError(f"Dataset '{dataset.name}' does not build: {first_error}")


def _remove(path: Path) -> None:
    for candidate in (path, Path(f"{path}.wal")):
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()
