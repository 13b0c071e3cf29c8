"""Putting a template on a backend through nexspec's own client, for tests that need one."""

from __future__ import annotations

import time
from pathlib import Path

from nexspec.client import ApiClient


def uploaded_template(client: ApiClient, source: Path, name: str) -> str:
    """Create, upload and wait for a template; its id once the backend reports it uploaded."""
    created = client.create_template("lottie", name)
    assert created.upload is not None
    client.upload(created.upload, source)
    for _ in range(6000):
        template = client.get_template(created.id)
        assert template is not None
        if template.status in {"uploaded", "error"}:
            assert template.status == "uploaded", template
            return created.id
        time.sleep(0.01)
    raise AssertionError("the template was never processed")
