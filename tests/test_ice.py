"""ICE configuration for WebRTC voice: none by default, TURN through fastrtc's helpers when configured."""

from __future__ import annotations

import asyncio
import inspect
import logging
from pathlib import Path

import fastrtc
import pytest

from interview.ice import NO_ICE, ice_configuration
from settings import load_settings


def settings_with(tmp_path: Path, **env: str):
    return load_settings(env, env_file=tmp_path / "none.env")


def test_no_relay_by_default(tmp_path: Path) -> None:
    assert ice_configuration(settings_with(tmp_path)) == (NO_ICE, NO_ICE)


def test_cloudflare_key_passes_id_and_token_and_browsers_get_fresh_credentials(tmp_path, monkeypatch) -> None:
    calls: list[dict] = []
    relay = {"iceServers": [{"urls": ["turn:turn.example:3478"], "username": "u", "credential": "c"}]}

    def fetch(**kw):
        calls.append(kw)
        return relay

    async def fetch_async(**kw):
        calls.append({"async": True, **kw})
        return relay

    monkeypatch.setattr(fastrtc, "get_cloudflare_turn_credentials", fetch)
    monkeypatch.setattr(fastrtc, "get_cloudflare_turn_credentials_async", fetch_async)
    s = settings_with(
        tmp_path, ATHENA_TURN_PROVIDER="cloudflare", ATHENA_TURN_ID="key-1", ATHENA_TURN_SECRET="tok"
    )
    browser, server = ice_configuration(s)
    assert server == relay and inspect.iscoroutinefunction(browser)
    assert asyncio.run(browser()) == relay
    assert calls[0] == {"ttl": 360_000, "turn_key_id": "key-1", "turn_key_api_token": "tok"}
    assert calls[1] == {"async": True, "turn_key_id": "key-1", "turn_key_api_token": "tok"}


def test_a_hugging_face_token_alone_is_used_as_such(tmp_path, monkeypatch) -> None:
    seen: list[dict] = []
    monkeypatch.setattr(fastrtc, "get_cloudflare_turn_credentials", lambda **kw: seen.append(kw) or NO_ICE)
    ice_configuration(settings_with(tmp_path, ATHENA_TURN_PROVIDER="cloudflare", ATHENA_TURN_SECRET="hf_x"))
    assert seen == [{"ttl": 360_000, "hf_token": "hf_x"}]


@pytest.mark.parametrize("provider", ["cloudflare", "twilio"])
def test_unreachable_turn_service_falls_back_and_says_so(tmp_path, caplog, provider: str) -> None:
    # The offline guard refuses the connection, as a firewall would; nothing crashes.
    s = settings_with(
        tmp_path, ATHENA_TURN_PROVIDER=provider, ATHENA_TURN_ID="id", ATHENA_TURN_SECRET="secret"
    )
    with caplog.at_level(logging.ERROR, logger="interview.ice"):
        _, server = ice_configuration(s)
    assert server == NO_ICE
    assert "TURN credentials unavailable" in caplog.text and "secret" not in caplog.text


def test_a_bad_provider_is_refused_at_start(tmp_path) -> None:
    from settings import SettingsError

    with pytest.raises(SettingsError, match="ATHENA_TURN_PROVIDER must be one of none, cloudflare, twilio"):
        settings_with(tmp_path, ATHENA_TURN_PROVIDER="stun")
