"""deploy/: the compose file passes `docker compose config` and has what production needs; the Dockerfile is
multi-stage, slim, non-root, with a health check; nginx proxies WebSockets with sticky sessions; the Space
front matter and packages.txt are in place."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
ENV = {
    "POSTGRES_PASSWORD": "pg-pass",
    "ATHENA_ADMIN_PASSWORD": "admin-pass",
    "ATHENA_SESSION_SECRET": "shared",
}


def compose_command() -> list[str] | None:
    """`docker compose` (v2 plugin) if present, else the standalone `docker-compose`."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = compose_command()
    if command is None:
        pytest.skip(
            "neither `docker compose` nor `docker-compose` is installed (Debian: apt-get install "
            "docker-compose)"
        )
    clean = {k: v for k, v in os.environ.items() if k not in ENV and k != "OPENAI_API_KEY"}
    return subprocess.run(
        [*command, "-f", str(DEPLOY / "compose.yaml"), "config"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
        cwd=DEPLOY,
        timeout=60,
    )


def test_compose_config_is_valid_and_complete() -> None:
    result = compose_config(ENV)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    services = config["services"]
    assert set(services) == {"app1", "app2", "nginx", "postgres"}
    for name in ("app1", "app2"):
        app = services[name]
        env = app["environment"]
        assert env["DATABASE_URL"] == "postgresql://athena:pg-pass@postgres:5432/athena"
        assert env["ATHENA_SESSION_SECRET"] == "shared" and env["ATHENA_HOST"] == "0.0.0.0"
        assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert app["build"]["dockerfile"] == "deploy/Dockerfile"
        assert "ports" not in app  # only nginx faces the network
    volume = services["postgres"]["volumes"][0]
    assert (volume["source"] if isinstance(volume, dict) else volume.split(":")[0]) == "pgdata"
    assert "pgdata" in config["volumes"]
    assert {
        str(p["published"]) if isinstance(p, dict) else p.split(":")[0] for p in services["nginx"]["ports"]
    } == {"80", "443"}


def test_compose_refuses_to_start_without_the_secrets() -> None:
    result = compose_config({k: v for k, v in ENV.items() if k != "POSTGRES_PASSWORD"})
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD in deploy/.env" in result.stderr


def test_dockerfile_is_multi_stage_slim_non_root_with_a_health_check() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)(?: AS (\w+))?", text, re.M)
    assert len(stages) == 2 and all("slim" in image for image, _ in stages)
    assert "COPY --from=build /opt/venv /opt/venv" in text
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user == ["athena"]
    assert re.search(r"^HEALTHCHECK .*\n?.*/health", text, re.M)
    assert re.search(r"^CMD \[\"python\", \"app.py\"\]", text, re.M)
    for package in ("espeak-ng", "postgresql-client"):
        assert package in text
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert ".env" in ignore and ".git" in ignore


def test_nginx_terminates_tls_upgrades_websockets_and_is_sticky() -> None:
    text = (DEPLOY / "nginx.conf").read_text()
    assert "ssl_certificate " in text and "listen 443 ssl" in text
    assert "proxy_set_header Upgrade $http_upgrade" in text
    assert "proxy_set_header Connection $connection_upgrade" in text
    assert re.search(r"upstream athena \{[^}]*ip_hash;[^}]*server app1:7860[^}]*server app2:7860", text)
    assert "proxy_buffering off" in text and "X-Forwarded-Proto $scheme" in text
    assert "location = /metrics { return 404; }" in text


def test_space_front_matter_keeps_the_quick_start_first() -> None:
    readme = (ROOT / "README.md").read_text()
    assert readme.startswith("---\n")
    front, body = readme[4:].split("\n---\n", 1)
    meta = yaml.safe_load(front)
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py"
    assert str(meta["sdk_version"]) in (ROOT / "requirements.txt").read_text()
    first_code = re.search(r"```bash\n(.*?)```", body, re.S)
    assert (
        first_code is not None
        and first_code.group(1).strip() == "pip install -r requirements.txt && python app.py"
    )
    assert body.index("```bash") < body.index("\n## ")  # the quick start comes before any section
    packages = (ROOT / "packages.txt").read_text().split()
    assert "espeak-ng" in packages
