"""Every knob of Athena, declared once: name, default, help. The only reader of os.environ and .env.

Values come from the process environment first, then from a `.env` file in the working directory.
A bad value stops start-up with one line naming the setting and what is allowed.
"""

from __future__ import annotations

import os
import re
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


def _language(name: str, raw: str) -> str:
    value = raw.strip().lower()
    if value and not re.fullmatch(r"[a-z]{2,3}", value):
        raise SettingsError(
            f"{name} must be a two- or three-letter language code such as en, or empty, not {raw!r}"
        )
    return value


def _host(name: str, raw: str) -> str:
    value = raw.strip()
    if not value or any(c.isspace() for c in value) or "/" in value:
        raise SettingsError(f"{name} must be a host name or IP address such as 127.0.0.1, not {raw!r}")
    return value


def _frame_ancestors(name: str, raw: str) -> str:
    value = " ".join(raw.split())
    sources = value.split(" ") if value else []
    if not sources or not all(
        src in ("'none'", "'self'") or re.fullmatch(r"https://[A-Za-z0-9.*-]+(:\d+)?", src) for src in sources
    ):
        raise SettingsError(
            f"{name} must be 'none', 'self' or https:// origins separated by spaces, not {raw!r}"
        )
    if "'none'" in sources and len(sources) > 1:
        raise SettingsError(f"{name}: 'none' cannot be combined with other sources")
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
    Setting(
        "DATABASE_URL",
        f"sqlite:///{DEFAULT_SQLITE_PATH}",
        "Where Athena keeps its data: sqlite:///path/to/file.db (default: data/athena.db) or postgresql://user:pass@host:5432/db.",
        _database_url,
        secret=True,
    ),
    Setting("ATHENA_HOST", "127.0.0.1", "Address the web server binds to.", _host),
    Setting("ATHENA_PORT", "7860", "Port the web server listens on.", _int_range(1, 65535)),
    Setting(
        "ATHENA_DB_POOL_SIZE",
        "10",
        "Database connections kept open per process (PostgreSQL).",
        _int_range(1, 200),
    ),
    Setting(
        "LOG_LEVEL",
        "INFO",
        "Log level: DEBUG, INFO, WARNING, ERROR or CRITICAL.",
        lambda n, r: _choice("debug", "info", "warning", "error", "critical")(n, r).upper(),
    ),
    Setting(
        "ATHENA_LOG_FORMAT", "json", "Log format: json (one object a line) or text.", _choice("json", "text")
    ),
    # -- the OpenAI Realtime interviewer
    Setting(
        "OPENAI_API_KEY", "", "OpenAI API key. Empty: Athena runs its own keyless interviewer.", secret=True
    ),
    Setting("ATHENA_REALTIME_MODEL", "gpt-realtime", "OpenAI Realtime model used for voice interviews."),
    Setting(
        "ATHENA_REALTIME_URL",
        "wss://api.openai.com/v1/realtime",
        "WebSocket URL of the Realtime API (tests point it at a fake server).",
        _ws_url,
    ),
    Setting(
        "ATHENA_REALTIME_VOICE",
        "marin",
        "Voice of the Realtime interviewer: marin, cedar, alloy, ash, ballad, coral, echo, sage, shimmer or verse.",
        _choice("marin", "cedar", "alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse"),
    ),
    Setting(
        "ATHENA_REALTIME_VAD",
        "server_vad",
        "Turn detection: server_vad (a pause ends the turn; tuned by the settings below) or semantic_vad "
        "(the model judges when the candidate has finished).",
        _choice("server_vad", "semantic_vad"),
    ),
    Setting(
        "ATHENA_REALTIME_VAD_THRESHOLD",
        "0.5",
        "server_vad: how loud speech must be to count (0 to 1); raise it in noisy rooms.",
        _float_range(0, 1),
    ),
    Setting(
        "ATHENA_REALTIME_VAD_SILENCE_MS",
        "1000",
        "server_vad: silence, in ms, that ends the candidate's turn; longer gives non-native speakers time to "
        "think mid-sentence without being cut off.",
        _int_range(200, 5000),
    ),
    Setting(
        "ATHENA_REALTIME_VAD_PREFIX_PADDING_MS",
        "300",
        "server_vad: audio kept from just before speech was detected, in ms.",
        _int_range(0, 2000),
    ),
    Setting(
        "ATHENA_REALTIME_VAD_EAGERNESS",
        "low",
        "semantic_vad: how soon the interviewer takes its turn: low (waits longest), medium, high or auto.",
        _choice("low", "medium", "high", "auto"),
    ),
    Setting(
        "ATHENA_REALTIME_NOISE_REDUCTION",
        "near_field",
        "Noise reduction on the candidate's audio: near_field (headset), far_field (laptop or room "
        "microphone) or off.",
        _choice("near_field", "far_field", "off"),
    ),
    Setting(
        "ATHENA_REALTIME_TRANSCRIPTION_MODEL",
        "gpt-4o-mini-transcribe",
        "Model that transcribes the candidate's speech for the live transcript and the stored answers.",
    ),
    Setting(
        "ATHENA_REALTIME_TRANSCRIPTION_LANGUAGE",
        "en",
        "Language the candidate speaks (ISO 639-1 code such as en) to help transcription; empty: detect it.",
        _language,
    ),
    Setting(
        "ATHENA_REALTIME_RENEW_MINUTES",
        "28",
        "A Realtime session is renewed after this many minutes, carrying the interview over, before the "
        "service's own session limit (30 to 60 minutes depending on the model).",
        _float_range(0.02, 120),
    ),
    Setting(
        "ATHENA_REALTIME_MAX_RECONNECTS",
        "3",
        "Reconnection attempts in a row after a dropped or failed connection before the candidate is offered "
        "the keyless interviewer.",
        _int_range(0, 20),
    ),
    Setting(
        "ATHENA_REALTIME_BACKOFF_S",
        "1",
        "First wait, in seconds, before reconnecting or retrying after a rate limit; it doubles each time.",
        _float_range(0.01, 60),
    ),
    Setting(
        "ATHENA_REALTIME_BACKOFF_MAX_S",
        "30",
        "Longest wait between retries, in seconds.",
        _float_range(0.01, 600),
    ),
    Setting(
        "ATHENA_REALTIME_CONNECT_TIMEOUT_S",
        "15",
        "Time allowed to open a Realtime session (connection and handshake), in seconds.",
        _float_range(1, 120),
    ),
    Setting(
        "ATHENA_REALTIME_MAX_CONNECTIONS",
        "20",
        "Realtime voice interviews that may run at the same time (browser and WebSocket clients together).",
        _int_range(1, 10000),
    ),
    # -- interviews
    Setting("ATHENA_MAX_QUESTIONS", "8", "Questions in one interview.", _int_range(1, 50)),
    Setting(
        "ATHENA_MAX_MINUTES", "25", "Longest interview, in minutes; then it wraps up.", _int_range(1, 240)
    ),
    Setting(
        "ATHENA_RECENT_SESSIONS",
        "3",
        "Questions asked in an employee's last N sessions are avoided when planning a new one.",
        _int_range(0, 100),
    ),
    Setting(
        "ATHENA_GRADING_TIMEOUT_S",
        "2",
        "Time limit for running a candidate's query, in seconds.",
        _float_range(0.1, 60),
    ),
    # -- keyless local voice
    Setting(
        "ATHENA_LOCAL_VOICE", "true", "Offer the keyless voice interview (offline speech in and out).", _bool
    ),
    Setting(
        "ATHENA_STT_MODEL",
        "bundled:tiny.en",
        "Speech-to-text model for the keyless voice: bundled:tiny.en, a faster-whisper model name, or a model folder.",
    ),
    Setting("ATHENA_TTS_VOICE", "en-us", "espeak-ng voice for the keyless interviewer."),
    Setting(
        "ATHENA_VAD_MIN_SILENCE_MS",
        "900",
        "Silence, in ms, that ends a candidate's turn in the keyless voice interview.",
        _int_range(200, 5000),
    ),
    Setting(
        "ATHENA_TURN_PROVIDER",
        "none",
        "TURN relay for WebRTC voice where browsers cannot reach the server directly (e.g. a Space): none, "
        "cloudflare or twilio.",
        _choice("none", "cloudflare", "twilio"),
    ),
    Setting("ATHENA_TURN_ID", "", "TURN account id: a Cloudflare TURN key id, or a Twilio account SID."),
    Setting(
        "ATHENA_TURN_SECRET",
        "",
        "TURN secret: a Cloudflare TURN key API token (or, without ATHENA_TURN_ID, a Hugging Face token), or a "
        "Twilio auth token.",
        secret=True,
    ),
    # -- accounts, the Analytics and SQL Console tabs, the API
    Setting(
        "ATHENA_ADMIN_PASSWORD",
        "",
        "Password for an admin account named admin, created at start-up when no admin exists yet (empty: none).",
        secret=True,
    ),
    Setting(
        "ATHENA_SESSION_SECRET",
        "",
        "Key that signs login cookies. Empty: one is generated once and kept next to the database (set it when several servers share one database).",
        secret=True,
    ),
    Setting("ATHENA_SESSION_HOURS", "12", "How long a sign-in lasts, in hours.", _int_range(1, 720)),
    Setting(
        "ATHENA_LOGIN_MAX_ATTEMPTS",
        "5",
        "Failed sign-ins allowed per user name and per IP address within the login window; then sign-in waits.",
        _int_range(1, 1000),
    ),
    Setting("ATHENA_LOGIN_WINDOW_S", "300", "The login throttling window, in seconds.", _int_range(1, 86400)),
    Setting(
        "ATHENA_CONSOLE_TIMEOUT_S",
        "2",
        "Time limit for one SQL console query, in seconds.",
        _float_range(0.1, 60),
    ),
    Setting(
        "ATHENA_CONSOLE_MAX_ROWS",
        "1000",
        "Most rows a SQL console query returns; the response says when it cut rows off.",
        _int_range(1, 100000),
    ),
    Setting(
        "ATHENA_CONSOLE_MEMORY_MB",
        "1024",
        "Memory one SQL console worker may use, in MB.",
        _int_range(128, 65536),
    ),
    Setting(
        "ATHENA_API_MAX_BODY_BYTES",
        "65536",
        "Largest request body the API accepts, in bytes; a bigger one gets HTTP 413.",
        _int_range(1024, 16777216),
    ),
    # -- operations: health, metrics, limits at the edge, backups, retention
    Setting(
        "ATHENA_METRICS",
        "local",
        "Who may read /metrics: off; local (clients on this machine, or anyone presenting ATHENA_METRICS_TOKEN); "
        "on (anyone; only with the token when ATHENA_METRICS_TOKEN is set).",
        _choice("off", "local", "on"),
    ),
    Setting(
        "ATHENA_METRICS_TOKEN",
        "",
        "Bearer token for /metrics (Authorization: Bearer TOKEN), for a Prometheus on another machine.",
        secret=True,
    ),
    Setting(
        "ATHENA_API_RATE_LIMIT",
        "120",
        "Requests a minute allowed per IP address and per signed-in user on /api, /interview and /login; "
        "more get HTTP 429 (0: no limit).",
        _int_range(0, 100000),
    ),
    Setting(
        "ATHENA_MAX_REQUEST_MB",
        "20",
        "Largest request body accepted on any route, in MB (uploads included); bigger gets HTTP 413.",
        _int_range(1, 1024),
    ),
    Setting(
        "ATHENA_FRAME_ANCESTORS",
        "'none'",
        "Pages that may embed Athena in a frame (CSP frame-ancestors): 'none', 'self' or https:// origins; "
        "on a Hugging Face Space use https://huggingface.co.",
        _frame_ancestors,
    ),
    Setting(
        "ATHENA_MIN_FREE_DISK_MB",
        "200",
        "/ready reports not ready when the database's disk has less free space than this, in MB.",
        _int_range(0, 10_000_000),
    ),
    Setting(
        "ATHENA_BACKUP_DIR",
        "",
        "Folder for scheduled backups (empty: no scheduled backups; python -m store backup still works).",
    ),
    Setting(
        "ATHENA_BACKUP_INTERVAL_HOURS", "24", "Hours between scheduled backups.", _float_range(0.01, 8760)
    ),
    Setting(
        "ATHENA_BACKUP_KEEP", "7", "Scheduled backups kept; older ones are deleted.", _int_range(1, 10000)
    ),
    Setting(
        "ATHENA_TRANSCRIPT_RETENTION_DAYS",
        "0",
        "Answer transcripts of interviews older than this many days are removed daily, keeping scores and "
        "reports (0: kept).",
        _int_range(0, 36500),
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


class Settings:
    """Parsed settings: attribute per setting (ATHENA_PORT -> .port, DATABASE_URL -> .database_url)."""

    # One annotation per entry of SETTINGS, for the type checker; tests/test_settings.py keeps the two in step.
    database_url: str
    host: str
    port: int
    db_pool_size: int
    log_level: str
    log_format: str
    openai_api_key: str
    realtime_model: str
    realtime_url: str
    realtime_voice: str
    realtime_vad: str
    realtime_vad_threshold: float
    realtime_vad_silence_ms: int
    realtime_vad_prefix_padding_ms: int
    realtime_vad_eagerness: str
    realtime_noise_reduction: str
    realtime_transcription_model: str
    realtime_transcription_language: str
    realtime_renew_minutes: float
    realtime_max_reconnects: int
    realtime_backoff_s: float
    realtime_backoff_max_s: float
    realtime_connect_timeout_s: float
    realtime_max_connections: int
    max_questions: int
    max_minutes: int
    recent_sessions: int
    grading_timeout_s: float
    local_voice: bool
    stt_model: str
    tts_voice: str
    vad_min_silence_ms: int
    turn_provider: str
    turn_id: str
    turn_secret: str
    admin_password: str
    session_secret: str
    session_hours: int
    login_max_attempts: int
    login_window_s: int
    console_timeout_s: float
    console_max_rows: int
    console_memory_mb: int
    api_max_body_bytes: int
    metrics: str
    metrics_token: str
    api_rate_limit: int
    max_request_mb: int
    frame_ancestors: str
    min_free_disk_mb: int
    backup_dir: str
    backup_interval_hours: float
    backup_keep: int
    transcript_retention_days: int

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
