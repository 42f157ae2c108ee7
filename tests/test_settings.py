"""Settings: defaults, parsing, one-line errors, .env, and the README documenting every setting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from settings import DEFAULT_SQLITE_PATH, SETTINGS, SettingsError, load_settings, read_env_file

ROOT = Path(__file__).resolve().parent.parent


def load(tmp_path: Path, **env: str):
    return load_settings(env, env_file=tmp_path / "none.env")


def test_defaults_are_the_embedded_keyless_setup(tmp_path: Path) -> None:
    s = load(tmp_path)
    assert s.database_url == f"sqlite:///{DEFAULT_SQLITE_PATH}"
    assert (s.host, s.port) == ("127.0.0.1", 7860)
    assert s.openai_api_key == "" and not s.realtime_enabled
    assert s.realtime_url.startswith("wss://")
    assert s.log_level == "INFO"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ATHENA_PORT", "abc", "ATHENA_PORT must be a whole number from 1 to 65535, not 'abc'"),
        ("ATHENA_PORT", "70000", "ATHENA_PORT must be a whole number from 1 to 65535, not 70000"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL must be one of debug, info, warning, error, critical, not 'loud'"),
        (
            "DATABASE_URL",
            "mysql://x@y/z",
            "DATABASE_URL must be a sqlite:/// or postgresql:// URL, not 'mysql://x@y/z'",
        ),
        (
            "DATABASE_URL",
            "sqlite:///:memory:",
            "DATABASE_URL must name a SQLite file, e.g. sqlite:///data/athena.db",
        ),
        (
            "ATHENA_REALTIME_URL",
            "https://api.openai.com",
            "ATHENA_REALTIME_URL must be a ws:// or wss:// URL",
        ),
        ("ATHENA_GRADING_TIMEOUT_S", "0", "ATHENA_GRADING_TIMEOUT_S must be a number from 0.1 to 60, not 0"),
        ("ATHENA_LOCAL_VOICE", "maybe", "ATHENA_LOCAL_VOICE must be true or false, not 'maybe'"),
        ("ATHENA_HOST", "bad host", "ATHENA_HOST must be a host name or IP address"),
    ],
)
def test_a_bad_value_names_the_setting_and_what_is_allowed(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError) as err:
        load(tmp_path, **{name: value})
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("# comment\nexport ATHENA_PORT=8000\nLOG_LEVEL='debug'\nOPENAI_API_KEY=\"sk-test\"\n")
    s = load_settings({"ATHENA_PORT": "9000"}, env_file=env_file)
    assert s.port == 9000 and s.log_level == "DEBUG" and s.openai_api_key == "sk-test" and s.realtime_enabled


def test_a_malformed_env_file_names_the_line(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("ATHENA_PORT=8000\nthis is not a setting\n")
    with pytest.raises(SettingsError, match=r"\.env:2: expected KEY=VALUE"):
        read_env_file(env_file)


def test_secrets_never_appear_in_repr(tmp_path: Path) -> None:
    s = load(tmp_path, OPENAI_API_KEY="sk-very-secret", DATABASE_URL="postgresql://u:pw-secret@db:5432/a")
    assert "sk-very-secret" not in repr(s) and "pw-secret" not in repr(s)
    assert s.redacted()["OPENAI_API_KEY"] == "(set)"


def test_replace_changes_parsed_values(tmp_path: Path) -> None:
    s = load(tmp_path).replace(port=1234)
    assert s.port == 1234


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", readme, re.M))
    declared = {s.name for s in SETTINGS}
    assert declared - documented == set(), "settings missing from README's settings table"
    assert documented - declared == set(), "README documents settings that do not exist"


def test_every_setting_has_help_and_a_valid_default(tmp_path: Path) -> None:
    for s in SETTINGS:
        assert s.help.strip().endswith("."), s.name
        s.parse(s.name, s.default)  # a default must pass its own validation


def test_the_settings_class_declares_each_setting_with_the_type_it_parses_to(tmp_path: Path) -> None:
    """The annotations on Settings are what the type checker sees; they must name every setting, and nothing
    else, with the type its parser returns."""
    from typing import get_type_hints

    from settings import Settings

    hints = get_type_hints(Settings)
    assert set(hints) == {s.attr for s in SETTINGS}
    parsed = load(tmp_path)
    wrong = {a: (t.__name__, type(getattr(parsed, a)).__name__) for a, t in hints.items()}
    assert {a: v for a, v in wrong.items() if v[0] != v[1]} == {}


def test_the_packages_type_check() -> None:
    """mypy over the packages, as configured in pyproject.toml (the style guide's type checker)."""
    import shutil
    import subprocess
    import sys

    if (
        shutil.which("mypy") is None
        and subprocess.run([sys.executable, "-m", "mypy", "--version"]).returncode
    ):
        pytest.skip("mypy is not installed (pip install -r requirements-dev.txt)")
    run = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=280
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
