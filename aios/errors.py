"""Every error aios raises, in one place.

    AiosError
    ├── ConfigError            a configuration value is wrong (names key, value, what is allowed)
    ├── KernelError
    │   ├── KernelShutdown     the kernel stopped while a syscall was waiting or running
    │   ├── SyscallCancelled   a sync caller's syscall was cancelled (async callers see CancelledError)
    │   ├── SharedStateUnavailable  the shared state (Redis/Valkey) is unreachable and
    │   │                       `redis_unavailable = "fail"`
    │   └── AdmissionError     a syscall can never be admitted as configured
    │       ├── AccessDenied       an access rule forbids this agent the model or tool
    │       └── BudgetExceeded     the agent's token budget is spent
    ├── ToolTimeout            a tool ran past its configured timeout
    └── AdapterError           a framework adapter could not be found, loaded or patched
        └── UnknownFrameworkError

Provider failures are never wrapped: a caller sees the SDK's own exception types.
"""

from __future__ import annotations


class AiosError(Exception):
    """Base class of every error raised by aios."""


class ConfigError(AiosError, ValueError):
    """A configuration value is invalid; the message names the key, the value and the fix."""


class KernelError(AiosError):
    """The kernel could not carry out a syscall."""


class KernelShutdown(KernelError):
    """The kernel shut down while the syscall was waiting or running."""


class SyscallCancelled(KernelError):
    """The syscall was cancelled before it could run."""


class SharedStateUnavailable(KernelError):
    """The shared admission state is unreachable and the config says to fail, not fall back."""


class AdmissionError(KernelError):
    """The syscall can never be admitted with the current configuration."""


class AccessDenied(AdmissionError):
    """An access rule in the configuration forbids this call."""


class BudgetExceeded(AdmissionError):
    """The agent has used up its configured token budget."""


class ToolTimeout(AiosError, TimeoutError):
    """A tool ran longer than its configured timeout."""


class AdapterError(AiosError):
    """A framework adapter could not be found, loaded or patched."""


class UnknownFrameworkError(AdapterError, KeyError):
    """A framework name was given that no adapter provides."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""
