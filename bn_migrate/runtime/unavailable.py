"""Errors for APIs the legacy runtime cannot provide; ``run-tf1`` reports them in one line with exit 2."""

from __future__ import annotations


class LegacyAPIUnavailable:
    """Mixin marking an error raised because the program used an API the legacy runtime cannot provide."""

    api: str
    reason: str

    def describe(self) -> str:
        return f"{self.api} is not available: {self.reason}; this program cannot run unmodified"


class UnavailableAttributeError(LegacyAPIUnavailable, AttributeError):
    def __init__(self, api: str, reason: str) -> None:
        AttributeError.__init__(self, f"{api} is not available: {reason}")
        self.api, self.reason = api, reason


class UnavailableImportError(LegacyAPIUnavailable, ImportError):
    def __init__(self, api: str, reason: str) -> None:
        ImportError.__init__(self, f"{api} is not available: {reason}", name=api)
        self.api, self.reason = api, reason


class UnavailableCallError(LegacyAPIUnavailable, RuntimeError):
    """A symbol that exists (so that imports work) but cannot run."""

    def __init__(self, api: str, reason: str) -> None:
        RuntimeError.__init__(self, f"{api} is not available: {reason}")
        self.api, self.reason = api, reason


__all__ = [
    "LegacyAPIUnavailable",
    "UnavailableAttributeError",
    "UnavailableCallError",
    "UnavailableImportError",
]
