"""The openai SDK (2.x and 3.x): every generation request goes through the kernel.

See :mod:`aios.adapters._stainless` for where and how; this module names the endpoints and
reads OpenAI's quota error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aios.adapters._stainless import StainlessAdapter
from aios.adapters.hookspecs import hookimpl


class OpenAIAdapter(StainlessAdapter):
    name = "openai"
    distribution = "openai"
    supported = ">=2.0,<4"
    module = "openai"
    framework = "openai"
    endpoints = {
        "/chat/completions": "openai.chat",
        "/responses": "openai.responses",
        "/completions": "openai.completions",
        "/embeddings": "openai.embeddings",
    }

    def is_quota_error(self, exc: Any, headers: Mapping[str, str]) -> bool:
        # A 429 with code ``insufficient_quota`` is billing, not pacing: waiting will not help.
        return "insufficient_quota" in (getattr(exc, "code", None), getattr(exc, "type", None))


@hookimpl
def aios_register_adapters(register: Any) -> None:
    register(OpenAIAdapter())
