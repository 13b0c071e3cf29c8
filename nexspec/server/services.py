"""What every part of the local backend shares: settings, database, blob folder, URL signer,
and a way to wake the dispatcher when there is new work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nexspec.server.blobs import BlobStore, UrlSigner
from nexspec.server.config import ServerConfig
from nexspec.server.fetch import FetchLimits
from nexspec.server.store import Store


@dataclass(frozen=True, slots=True)
class Services:
    config: ServerConfig
    store: Store
    blobs: BlobStore
    signer: UrlSigner
    wake: Callable[[], None]

    @property
    def cache(self) -> Path:
        return self.config.data_dir / "cache"

    @property
    def work(self) -> Path:
        return self.config.data_dir / "work"

    @property
    def limits(self) -> FetchLimits:
        return FetchLimits(self.config.max_asset_bytes, self.config.fetch_timeout)
