"""The renderer interface shared by every local renderer, and the values it exchanges.

A renderer receives a ``RenderRequest`` (the template already on local disk, its
introspection, the composition, the job's assets with every ``src`` already fetched to a
local file, and the output settings) and writes one media file. Failures raise
``RenderError`` with a message worded as Nexrender Cloud words its job errors
(``Layer 'subtitle' not found in composition 'main'``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from nexspec.templateinfo import TemplateInfo

JsonScalar = str | int | float | bool | None
Progress = Callable[[float], None]  # called with 0.0 .. 100.0

# DejaVu Sans, shipped with nexspec: text must draw on a machine with no fonts installed.
FONTS = Path(__file__).resolve().parent.parent / "fonts"
SANS, SANS_BOLD = FONTS / "DejaVuSans.ttf", FONTS / "DejaVuSans-Bold.ttf"


@dataclass(frozen=True, slots=True)
class RenderAsset:
    """One job asset, resolved: ``src`` is a local file path when the asset had one."""

    type: str
    layer_name: str | None = None
    composition: str | None = None
    value: object = None
    property: str | None = None
    src: Path | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class OutputSettings:
    """The job's ``settings`` and ``preview``.

    ``fast`` asks for the cheapest output that is still valid.
    """

    type: str = "video"  # video | image
    frames: tuple[int, int] | int | None = None
    quality: str = "full"
    codec: str | None = None
    preview: bool = False
    fast: bool = False


@dataclass(frozen=True, slots=True)
class RenderRequest:
    template_root: Path  # the template file, or the folder an archive was extracted to
    info: TemplateInfo
    template_name: str
    composition: str
    assets: tuple[RenderAsset, ...]
    settings: OutputSettings
    output: Path  # where to write; the renderer picks no other name
    fonts: tuple[Path, ...] = ()  # the team's font library, each file under its uploaded name


@dataclass(frozen=True, slots=True)
class RenderResult:
    output: Path
    frames: int
    log: tuple[str, ...] = field(default=())


class Renderer(Protocol):
    """A local renderer. Implementations must be importable cheaply and pickle-free."""

    name: str

    def render(self, request: RenderRequest, progress: Progress) -> RenderResult: ...
