"""The simulated OpenAI/Anthropic-compatible provider (in process, or over HTTP)."""

from .config import SimConfig
from .process import SimServer
from .provider import SimProvider
from .result import SimResult

__all__ = ["SimConfig", "SimProvider", "SimResult", "SimServer"]
