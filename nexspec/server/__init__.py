"""The local backend: a server speaking the Nexrender Cloud API v2 that renders on this machine.

Start it embedded with ``start_embedded`` (below), or in the foreground with ``nexspec serve``.
Importing this package is cheap: Starlette, uvicorn and the render stack load on start.
"""

from __future__ import annotations

from nexspec.server.config import Faults, ServerConfig, parse_faults
from nexspec.server.embedded import EmbeddedServer, start_embedded

__all__ = ["EmbeddedServer", "Faults", "ServerConfig", "parse_faults", "start_embedded"]
