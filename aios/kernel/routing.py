"""From (API kind, base URL, model) to the cores a call may run on."""

from __future__ import annotations

import fnmatch
from urllib.parse import urlsplit

from aios.config import CoreConfig, KernelConfig
from aios.kernel.cores import CoreSpec


def normalize_url(url: str | None) -> str | None:
    """Scheme, host, port and path without a trailing slash, for comparing endpoints."""
    if not url:
        return None
    parts = urlsplit(str(url))
    host = (parts.hostname or "").lower()
    if host == "localhost":
        host = "127.0.0.1"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme.lower()}://{host}{port}{parts.path.rstrip('/')}"


def _api_family(api: str) -> str:
    return api.split(".", 1)[0]


def spec_of(core: CoreConfig) -> CoreSpec:
    return CoreSpec(
        name=core.name,
        api=core.api,
        base_url=normalize_url(core.base_url),
        max_concurrency=core.max_concurrency,
        rpm=core.rpm,
        tpm=core.tpm,
        input_tpm=core.input_tpm,
        output_tpm=core.output_tpm,
        rate_window_s=core.rate_window_s,
        rate_margin_s=core.rate_margin_s,
        fallbacks=tuple(core.fallbacks),
        target_base_url=core.target_base_url,
        target_model=core.target_model,
        target_api_key_env=core.target_api_key_env,
        learn_limits=core.learn_limits,
    )


class Router:
    """Resolves the cores of a call; endpoints nobody configured get a core of their own."""

    def __init__(self, config: KernelConfig) -> None:
        self.config = config
        self.specs: dict[str, CoreSpec] = {c.name: spec_of(c) for c in config.cores}
        self._cache: dict[tuple[str, str | None, str | None], tuple[str, ...]] = {}

    def resolve(self, api: str, base_url: str | None, model: str | None) -> tuple[str, ...]:
        key = (api, base_url, model)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        primary = self._primary(api, normalize_url(base_url), model)
        chain = (primary, *self.specs[primary].fallbacks)
        self._cache[key] = chain
        return chain

    def _primary(self, api: str, url: str | None, model: str | None) -> str:
        if model is not None:
            for route in self.config.routes:
                if fnmatch.fnmatchcase(model, route.match):
                    return route.core
        family = _api_family(api)
        fallback_match: str | None = None
        for spec in self.specs.values():
            if spec.api not in (api, family):
                continue
            if spec.base_url is not None and spec.base_url == url:
                return spec.name
            if spec.base_url is None and fallback_match is None:
                fallback_match = spec.name
        if fallback_match is not None:
            return fallback_match
        name = f"{family}@{url or 'default'}"
        if name not in self.specs:
            self.specs[name] = CoreSpec(
                name=name, api=family, base_url=url, max_concurrency=self.config.max_concurrency
            )
        return name

    def tool_core(self, tool: str) -> CoreSpec:
        name = f"tool:{tool}"
        spec = self.specs.get(name)
        if spec is None:
            limits = self.config.tools.get(tool, self.config.default_tool)
            spec = self.specs[name] = CoreSpec(name=name, api="tool", max_concurrency=limits.concurrency)
        return spec
