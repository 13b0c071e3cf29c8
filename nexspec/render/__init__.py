"""Local renderers: a template plus resolved assets in, a media file plus a log out.

``choose_renderer`` picks one per template: the faithful Lottie renderer when the template
carries a Bodymovin export, else the slate. Renderers are registered by name so that others
(an After Effects layout preview, say) can join behind the same interface. Importing this
package is cheap: ThorVG, PyAV, numpy and Pillow load only when a render starts.
"""

from __future__ import annotations

from collections.abc import Callable

from nexspec.errors import RenderError
from nexspec.render.base import (
    OutputSettings,
    Progress,
    RenderAsset,
    Renderer,
    RenderRequest,
    RenderResult,
)
from nexspec.templateinfo import TemplateInfo, TemplateKind

__all__ = [
    "RENDERERS",
    "OutputSettings",
    "Progress",
    "RenderAsset",
    "RenderRequest",
    "RenderResult",
    "Renderer",
    "choose_renderer",
    "renderer_named",
]


def _lottie() -> Renderer:
    from nexspec.render.lottie import LottieRenderer

    return LottieRenderer()


def _slate() -> Renderer:
    from nexspec.render.slate import SlateRenderer

    return SlateRenderer()


RENDERERS: dict[str, Callable[[], Renderer]] = {"lottie": _lottie, "slate": _slate}


def renderer_named(name: str) -> Renderer:
    try:
        return RENDERERS[name]()
    except KeyError:
        raise RenderError(f"No local renderer named '{name}'") from None


def choose_renderer(info: TemplateInfo) -> Renderer:
    """The Lottie renderer for a Lottie template or an archive carrying one, else the slate."""
    if info.kind is TemplateKind.LOTTIE or info.lottie:
        return renderer_named("lottie")
    return renderer_named("slate")
