"""The anthropic SDK: every generation request goes through the kernel.

See :mod:`aios.adapters._stainless` for where and how; this module names the endpoints and
reads Anthropic's spend-limit error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aios.adapters._stainless import StainlessAdapter
from aios.adapters.hookspecs import hookimpl


class AnthropicAdapter(StainlessAdapter):
    name = "anthropic"
    distribution = "anthropic"
    supported = ">=0.70,<3"
    module = "anthropic"
    framework = "anthropic"
    # The beta resources post to the same paths with ``?beta=true``.
    endpoints = {
        "/v1/messages": "anthropic.messages",
        "/v1/complete": "anthropic.complete",
    }

    def is_quota_error(self, exc: Any, headers: Mapping[str, str]) -> bool:
        # Anthropic's rate-limit 429s always say when to come back; the spend-limit 429 does not
        # (and lasts until the next billing period).
        return headers.get("retry-after") is None and headers.get("retry-after-ms") is None


@hookimpl
def aios_register_adapters(register: Any) -> None:
    register(AnthropicAdapter())
