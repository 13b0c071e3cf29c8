"""What a template contains: its kind, compositions, layers and Essential Graphics controls.

These values are produced by ``nexspec.introspect`` from the template file and consumed by
validation (do the composition and layers a job names exist?), by the local backend (its
v2/v3 introspection routes) and by the local renderers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class TemplateKind(StrEnum):
    """How a template is uploaded: the Nexrender Cloud types, plus ``lottie`` (local only)."""

    AEP = "aep"
    ZIP = "zip"
    MOGRT = "mogrt"
    LOTTIE = "lottie"


class LayerKind(StrEnum):
    """What a layer is, as far as asset injection cares."""

    TEXT = "text"
    FOOTAGE = "footage"  # image or video footage, or a placeholder for one
    AUDIO = "audio"
    SOLID = "solid"
    SHAPE = "shape"
    NULL = "null"
    PRECOMP = "precomp"
    CAMERA = "camera"
    LIGHT = "light"
    OTHER = "other"


class ControlKind(StrEnum):
    """Essential Graphics control types found in a ``.mogrt``'s ``definition.json``."""

    CHECKBOX = "checkbox"
    SLIDER = "slider"
    ANGLE = "angle"
    COLOR = "color"
    POINT = "point"
    TEXT = "text"
    SCALE = "scale"
    GROUP = "group"
    DROPDOWN = "dropdown"
    MEDIA = "media"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Layer:
    """One layer of a composition. ``index`` is 1-based, as in ExtendScript and nexrender."""

    name: str
    kind: LayerKind
    index: int
    aeid: int = 0
    parent_id: int | None = None
    source_comp: str | None = None  # the composition a precomp layer shows
    in_point: float = 0.0
    out_point: float = 0.0
    start_time: float = 0.0
    text: str | None = None  # current Source Text of a text layer
    source_name: str | None = None  # footage file name, when known


@dataclass(frozen=True, slots=True)
class Composition:
    """One composition with its size, timing and layers (top layer first)."""

    name: str
    width: int
    height: int
    fps: float
    duration: float
    layers: tuple[Layer, ...] = ()
    aeid: str = ""

    def layers_named(self, name: str) -> tuple[Layer, ...]:
        """Every layer with exactly this (case-sensitive) name; names need not be unique."""
        return tuple(layer for layer in self.layers if layer.name == name)


@dataclass(frozen=True, slots=True)
class Control:
    """One Essential Graphics control of a ``.mogrt``: the name an ``essential`` asset uses."""

    name: str
    kind: ControlKind


@dataclass(frozen=True, slots=True)
class TemplateInfo:
    """Everything introspection learnt about one template file.

    ``project`` is the path of the After Effects project inside an archive (or the file
    name itself); ``lottie`` the path of the Bodymovin JSON inside a folder or archive,
    when there is one (the local backend renders it faithfully).
    """

    kind: TemplateKind
    compositions: tuple[Composition, ...] = ()
    controls: tuple[Control, ...] = ()
    project: str = ""
    lottie: str | None = None
    notes: tuple[str, ...] = field(default=())

    def composition(self, name: str) -> Composition | None:
        return next((c for c in self.compositions if c.name == name), None)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form, for caches and the local backend's database."""
        return {
            "kind": self.kind.value,
            "project": self.project,
            "lottie": self.lottie,
            "notes": list(self.notes),
            "controls": [{"name": c.name, "kind": c.kind.value} for c in self.controls],
            "compositions": [_composition_json(c) for c in self.compositions],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TemplateInfo:
        return cls(
            kind=TemplateKind(data["kind"]),
            project=str(data.get("project", "")),
            lottie=data.get("lottie"),
            notes=tuple(data.get("notes", ())),
            controls=tuple(Control(str(c["name"]), ControlKind(c["kind"])) for c in data.get("controls", ())),
            compositions=tuple(_composition_from_json(c) for c in data.get("compositions", ())),
        )


def _composition_json(comp: Composition) -> dict[str, Any]:
    return {
        "name": comp.name,
        "width": comp.width,
        "height": comp.height,
        "fps": comp.fps,
        "duration": comp.duration,
        "aeid": comp.aeid,
        "layers": [
            {
                "name": layer.name,
                "kind": layer.kind.value,
                "index": layer.index,
                "aeid": layer.aeid,
                "parent_id": layer.parent_id,
                "source_comp": layer.source_comp,
                "in_point": layer.in_point,
                "out_point": layer.out_point,
                "start_time": layer.start_time,
                "text": layer.text,
                "source_name": layer.source_name,
            }
            for layer in comp.layers
        ],
    }


def _composition_from_json(data: Mapping[str, Any]) -> Composition:
    return Composition(
        name=str(data["name"]),
        width=int(data["width"]),
        height=int(data["height"]),
        fps=float(data["fps"]),
        duration=float(data["duration"]),
        aeid=str(data.get("aeid", "")),
        layers=tuple(
            Layer(
                name=str(item["name"]),
                kind=LayerKind(item["kind"]),
                index=int(item["index"]),
                aeid=int(item.get("aeid", 0)),
                parent_id=item.get("parent_id"),
                source_comp=item.get("source_comp"),
                in_point=float(item.get("in_point", 0.0)),
                out_point=float(item.get("out_point", 0.0)),
                start_time=float(item.get("start_time", 0.0)),
                text=item.get("text"),
                source_name=item.get("source_name"),
            )
            for item in data.get("layers", ())
        ),
    )
