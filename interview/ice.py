"""ICE servers for WebRTC voice: none on a network where the browser reaches the server directly (the default),
or a TURN relay through fastrtc's credential helpers where it cannot (a Hugging Face Space, most clouds)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from settings import Settings

log = logging.getLogger(__name__)

NO_ICE: dict[str, Any] = {"iceServers": []}
SERVER_TTL_S = 360_000  # the server's own credentials last the process's life; browsers get fresh ones
ClientConfig = dict[str, Any] | Callable[[], Coroutine[Any, Any, dict[str, Any]]]


def ice_configuration(settings: Settings) -> tuple[ClientConfig, dict[str, Any]]:
    """(browser side, server side) rtc configurations for fastrtc's WebRTC component and Stream."""
    provider = settings.turn_provider
    if provider == "none":
        return NO_ICE, NO_ICE
    if provider == "cloudflare":
        from fastrtc import get_cloudflare_turn_credentials, get_cloudflare_turn_credentials_async

        # With a key id: Cloudflare's own TURN keys; without: the secret is a Hugging Face token.
        kw: dict[str, Any] = (
            {"turn_key_id": settings.turn_id, "turn_key_api_token": settings.turn_secret}
            if settings.turn_id
            else {"hf_token": settings.turn_secret or None}
        )

        async def browser_credentials() -> dict[str, Any]:
            return await get_cloudflare_turn_credentials_async(**kw)

        return browser_credentials, _server_side(
            lambda: get_cloudflare_turn_credentials(ttl=SERVER_TTL_S, **kw)
        )
    from fastrtc import get_twilio_turn_credentials

    def twilio() -> dict[str, Any]:
        return get_twilio_turn_credentials(
            twilio_sid=settings.turn_id or None, twilio_token=settings.turn_secret or None
        )

    server = _server_side(twilio)
    return server, server


def _server_side(fetch: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The server's TURN credentials; without them voice still works where no relay is needed, so log and go on."""
    try:
        return fetch()
    except Exception as exc:  # network, credentials: the message goes to the operator's log
        log.error(
            "TURN credentials unavailable; WebRTC voice will only connect without a relay",
            extra={"error": str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__},
        )
        return NO_ICE
