"""Every knob of Athena, declared once: name, default, help. The only reader of os.environ and .env.

Values come from the process environment first, then from a `.env` file in the working directory.
A bad value stops start-up with one line naming the setting and what is allowed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent
DEFAULT_SQLITE_PATH = ROOT / "data" / "athena.db"


class SettingsError(ValueError):
    """A setting has a value Athena cannot use; the message names the setting and what is allowed."""


def _str(name: str, raw: str) -> str:
    return raw.strip()


def _int_range(lo: int, hi: int) -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise SettingsError(f"{name} must be a whole number from {lo} to {hi}, not {raw!r}") from None
        if not lo <= value <= hi:
            raise SettingsError(f"{name} must be a whole number from {lo} to {hi}, not {value}")
        return value

    return parse


def _float_range(lo: float, hi: float) -> Callable[[str, str], float]:
    def parse(name: str, raw: str) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            raise SettingsError(f"{name} must be a number from {lo:g} to {hi:g}, not {raw!r}") from None
        if not lo <= value <= hi:
            raise SettingsError(f"{name} must be a number from {lo:g} to {hi:g}, not {value:g}")
        return value

    return parse


def _choice(*allowed: str) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.strip().lower()
        if value not in allowed:
            raise SettingsError(f"{name} must be one of {', '.join(allowed)}, not {raw!r}")
        return value

    return parse


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, not {raw!r}")


def _database_url(name: str, raw: str) -> str:
    value = raw.strip()
    if not value:
        raise SettingsError(f"{name} must be a sqlite:/// or postgresql:// URL, not an empty value")
    scheme = value.split(":", 1)[0].lower() if "://" in value else ""
    if scheme == "sqlite":
        if not value.startswith("sqlite:///") or value in ("sqlite:///", "sqlite:///:memory:"):
            raise SettingsError(f"{name} must name a SQLite file, e.g. sqlite:///data/athena.db, not {raw!r}")
        return value
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        parts = urlsplit(value)
        if not parts.hostname and "host=" not in parts.query:
            raise SettingsError(f"{name} must name a PostgreSQL host, e.g. postgresql://user@host:5432/db")
        return value
    raise SettingsError(f"{name} must be a sqlite:/// or postgresql:// URL, not {raw!r}")


def _ws_url(name: str, raw: str) -> str:
    value = raw.strip()
    if urlsplit(value).scheme not in ("ws", "wss") or not urlsplit(value).hostname:
        raise SettingsError(f"{name} must be a ws:// or wss:// URL, not {raw!r}")
    return value


def _host(name: str, raw: str) -> str:
    value = raw.strip()
    if not value or any(c.isspace() for c in value) or "/" in value:
        raise SettingsError(f"{name} must be a host name or IP address such as 127.0.0.1, not {raw!r}")
    return value


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str
    parse: Callable[[str, str], Any] = _str
    secret: bool = False

    @property
    def attr(self) -> str:
        """Attribute name on Settings: ATHENA_ prefix dropped, lower case (ATHENA_PORT -> port)."""
        return self.name.removeprefix("ATHENA_").lower()


SETTINGS: tuple[Setting, ...] = (
    # -- server and storage
    Setting("DATABASE_URL", f"sqlite:///{DEFAULT_SQLITE_PATH}",
            "Where Athena keeps its data: sqlite:///path/to/file.db (default: data/athena.db) or postgresql://user:pass@host:5432/db.",
            _database_url, secret=True),
    Setting("ATHENA_HOST", "127.0.0.1", "Address the web server binds to.", _host),
    Setting("ATHENA_PORT", "7860", "Port the web server listens on.", _int_range(1, 65535)),
    Setting("ATHENA_DB_POOL_SIZE", "10", "Database connections kept open per process (PostgreSQL).", _int_range(1, 200)),
    Setting("LOG_LEVEL", "INFO", "Log level: DEBUG, INFO, WARNING, ERROR or CRITICAL.",
            lambda n, r: _choice("debug", "info", "warning", "error", "critical")(n, r).upper()),
    Setting("ATHENA_LOG_FORMAT", "json", "Log format: json (one object a line) or text.", _choice("json", "text")),
    # -- the OpenAI Realtime interviewer
    Setting("OPENAI_API_KEY", "", "OpenAI API key. Empty: Athena runs its own keyless interviewer.", secret=True),
    Setting("ATHENA_REALTIME_MODEL", "gpt-realtime", "OpenAI Realtime model used for voice interviews."),
    Setting("ATHENA_REALTIME_URL", "wss://api.openai.com/v1/realtime",
            "WebSocket URL of the Realtime API (tests point it at a fake server).", _ws_url),
    # -- interviews
    Setting("ATHENA_MAX_QUESTIONS", "8", "Questions in one interview.", _int_range(1, 50)),
    Setting("ATHENA_MAX_MINUTES", "25", "Longest interview, in minutes; then it wraps up.", _int_range(1, 240)),
    Setting("ATHENA_RECENT_SESSIONS", "3",
            "Questions asked in an employee's last N sessions are avoided when planning a new one.", _int_range(0, 100)),
    Setting("ATHENA_GRADING_TIMEOUT_S", "2", "Time limit for running a candidate's query, in seconds.",
            _float_range(0.1, 60)),
    # -- keyless local voice
    Setting("ATHENA_LOCAL_VOICE", "true", "Offer the keyless voice interview (offline speech in and out).", _bool),
    Setting("ATHENA_STT_MODEL", "bundled:tiny.en",
            "Speech-to-text model for the keyless voice: bundled:tiny.en, a faster-whisper model name, or a model folder."),
    Setting("ATHENA_TTS_VOICE", "en-us", "espeak-ng voice for the keyless interviewer."),
    Setting("ATHENA_VAD_MIN_SILENCE_MS", "900",
            "Silence, in ms, that ends a candidate's turn in the keyless voice interview.", _int_range(200, 5000)),
)

_BY_NAME = {s.name: s for s in SETTINGS}


class Settings:
    """Parsed settings: attribute per setting (ATHENA_PORT -> .port, DATABASE_URL -> .database_url)."""

    def __init__(self, values: Mapping[str, Any]):
        self._values = dict(values)
        for setting in SETTINGS:
            setattr(self, setting.attr, self._values[setting.name])

    def replace(self, **changes: Any) -> Settings:
        """A copy with some values changed, by attribute name (already parsed values)."""
        values = dict(self._values)
        for attr, value in changes.items():
            matches = [s for s in SETTINGS if s.attr == attr]
            if not matches:
                raise AttributeError(f"unknown setting {attr!r}")
            values[matches[0].name] = value
        return Settings(values)

    def redacted(self) -> dict[str, Any]:
        """Values fit for a log line: secrets shown only as set/unset."""
        out: dict[str, Any] = {}
        for s in SETTINGS:
            value = self._values[s.name]
            out[s.name] = ("(set)" if value else "(unset)") if s.secret else value
        return out

    @property
    def realtime_enabled(self) -> bool:
        return bool(self.openai_api_key)

    def __repr__(self) -> str:  # never print secrets
        return f"Settings({self.redacted()!r})"


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a .env file: KEY=VALUE lines, # comments, optional quotes, optional `export `."""
    values: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return values
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc.strerror}") from None
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise SettingsError(f"{path}:{lineno}: expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def load_settings(environ: Mapping[str, str] | None = None, env_file: Path | None = None) -> Settings:
    """Read, parse and validate every setting; raise SettingsError naming the first bad one."""
    environ = os.environ if environ is None else environ
    file_values = read_env_file(env_file if env_file is not None else Path.cwd() / ".env")
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.name, file_values.get(setting.name, setting.default))
        values[setting.name] = setting.parse(setting.name, raw)
    return Settings(values)


def setting(name: str) -> Setting:
    return _BY_NAME[name]
