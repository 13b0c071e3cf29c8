"""The local backend's settings, fixed once parsed: where it keeps its data, who may call it,
how many renders run at once, and which faults it injects on purpose.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from nexspec.protocol import MAX_FONT_BYTES, MAX_TEMPLATE_BYTES

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_MAX_JSON_BYTES = 32 * 1024**2
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
TOKEN_ENV = "NEXSPEC_SERVE_TOKEN"

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s)?$")
_FAULT_KEYS = ("latency", "error_rate", "throttle_rate", "drop_rate", "retry_after", "seed")


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/nexspec/server``, or ``~/.local/share/nexspec/server``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "nexspec" / "server"


def default_workers() -> int:
    return os.cpu_count() or 1


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.startswith("127.")


@dataclass(frozen=True, slots=True)
class Faults:
    """Failures injected into ``/api`` requests, so a client's resilience can be proven.

    Rates are probabilities per request, drawn in this order: dropped connection, 429 with
    ``Retry-After``, 5xx. ``latency`` (seconds) is added to every ``/api`` request.
    """

    latency: float = 0.0
    error_rate: float = 0.0
    throttle_rate: float = 0.0
    drop_rate: float = 0.0
    retry_after: int = 1
    seed: int | None = None

    @property
    def active(self) -> bool:
        return any((self.latency, self.error_rate, self.throttle_rate, self.drop_rate))

    def describe(self) -> str:
        parts = [f"latency={self.latency * 1000:g}ms"] if self.latency else []
        for name in ("error_rate", "throttle_rate", "drop_rate"):
            value = getattr(self, name)
            if value:
                parts.append(f"{name}={value:g}")
        return ",".join(parts) or "none"


NO_FAULTS = Faults()


def parse_duration(text: str) -> float:
    """``25ms``, ``0.5s`` or ``2`` (seconds) as seconds."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValueError(f"'{text}' is not a duration such as 25ms or 0.5s")
    value = float(match[1])
    return value / 1000 if match[2] == "ms" else value


def parse_faults(text: str | None) -> Faults:
    """``latency=25ms,error_rate=0.1,throttle_rate=0.05,drop_rate=0.02`` as ``Faults``."""
    if not text or not text.strip():
        return NO_FAULTS
    values: dict[str, str] = {}
    for item in text.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep or key not in _FAULT_KEYS:
            raise ValueError(
                f"'{item.strip()}' is not a fault; use {', '.join(k + '=...' for k in _FAULT_KEYS)}"
            )
        values[key] = value.strip()
    return Faults(
        latency=parse_duration(values.get("latency", "0")),
        error_rate=_rate(values, "error_rate"),
        throttle_rate=_rate(values, "throttle_rate"),
        drop_rate=_rate(values, "drop_rate"),
        retry_after=_integer(values, "retry_after", 1),
        seed=_integer(values, "seed", None) if "seed" in values else None,
    )


def _rate(values: dict[str, str], key: str) -> float:
    try:
        rate = float(values.get(key, "0"))
    except ValueError:
        raise ValueError(f"{key} must be a number between 0 and 1") from None
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"{key} must be between 0 and 1, not {rate:g}")
    return rate


def _integer(values: dict[str, str], key: str, default: int | None) -> int:
    text = values.get(key)
    if text is None:
        assert default is not None
        return default
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{key} must be a whole number") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerConfig:
    """Everything the local backend needs to start; ``token=None`` means "use the data dir's".

    ``render_fast`` makes every render use the renderers' cheapest valid output (one frame),
    so that benchmarks measure the client, not the renderer. ``webhook_base_delay`` is the
    first retry's delay; each further retry doubles it.
    """

    data_dir: Path
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token: str | None = None
    workers: int = field(default_factory=default_workers)
    faults: Faults = NO_FAULTS
    render_fast: bool = False
    max_upload_bytes: int = MAX_TEMPLATE_BYTES
    max_font_bytes: int = MAX_FONT_BYTES
    max_json_bytes: int = DEFAULT_MAX_JSON_BYTES
    max_asset_bytes: int = MAX_TEMPLATE_BYTES
    webhook_retries: int = 3
    webhook_base_delay: float = 1.0
    webhook_timeout: float = 10.0
    fetch_timeout: float = 120.0
    start_method: str | None = None  # forkserver where available, else spawn

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
        if self.max_upload_bytes < 1:
            raise ValueError("max_upload_bytes must be positive")
