"""Fixtures for the renderer tests: the small Lottie template and requests for it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from render_media import Make, lottie_document, lottie_info

from nexspec.render import OutputSettings, RenderAsset, RenderRequest


@pytest.fixture
def lottie_template(tmp_path: Path) -> Path:
    path = tmp_path / "promo.json"
    path.write_text(json.dumps(lottie_document()), encoding="utf-8")
    return path


@pytest.fixture
def make_request(tmp_path: Path, lottie_template: Path) -> Make:
    """A request for the small Lottie template; keywords override any field."""
    counter = iter(range(1_000))

    def make(*assets: RenderAsset, **fields: Any) -> RenderRequest:
        settings = fields.pop("settings", OutputSettings())
        suffix = ".png" if settings.type == "image" else ".mp4"
        values: dict[str, Any] = {
            "template_root": lottie_template,
            "info": lottie_info(),
            "template_name": "promo",
            "composition": "main",
            "assets": assets,
            "settings": settings,
            "output": tmp_path / f"out-{next(counter)}{suffix}",
        }
        values.update(fields)
        return RenderRequest(**values)

    return make
