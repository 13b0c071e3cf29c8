"""Which renderer a template gets, the registry, and the cost of importing the package."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nexspec.errors import RenderError
from nexspec.render import RENDERERS, choose_renderer, renderer_named
from nexspec.templateinfo import TemplateInfo, TemplateKind


@pytest.mark.parametrize(
    ("info", "name"),
    [
        (TemplateInfo(TemplateKind.LOTTIE, lottie="promo.json"), "lottie"),
        (TemplateInfo(TemplateKind.ZIP, project="promo.aep", lottie="promo/data.json"), "lottie"),
        (TemplateInfo(TemplateKind.ZIP, project="promo.aep"), "slate"),
        (TemplateInfo(TemplateKind.AEP, project="promo.aep"), "slate"),
        (TemplateInfo(TemplateKind.MOGRT, project="card.mogrt"), "slate"),
    ],
)
def test_a_lottie_export_gets_the_lottie_renderer_and_the_rest_a_slate(info: TemplateInfo, name: str) -> None:
    assert choose_renderer(info).name == name


def test_renderers_are_registered_by_name() -> None:
    assert sorted(RENDERERS) == ["lottie", "slate"]
    assert all(renderer_named(name).name == name for name in RENDERERS)
    with pytest.raises(RenderError, match="No local renderer named 'aerender'"):
        renderer_named("aerender")


def test_importing_the_renderers_loads_no_media_library() -> None:
    code = (
        "import sys, nexspec.render, nexspec.render.lottie, nexspec.render.slate; "
        "print(sorted({'av', 'numpy', 'PIL', 'thorvg_python'} & set(sys.modules)))"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "[]"
