"""Do the composition and layers a render request names exist in the template?

Checked against the template's introspection before anything is drawn, and failing with
the words Nexrender Cloud uses for the same job error.
"""

from __future__ import annotations

from nexspec.errors import RenderError
from nexspec.render.base import RenderAsset, RenderRequest
from nexspec.templateinfo import Composition, TemplateInfo

LAYER_ASSETS = frozenset({"text", "data", "image", "video", "audio"})


def composition_not_found(name: str) -> RenderError:
    return RenderError(f"Composition '{name}' not found")


def layer_not_found(layer: str, composition: str) -> RenderError:
    return RenderError(f"Layer '{layer}' not found in composition '{composition}'")


def comp_path(path: str) -> list[str]:
    """The compositions of ``a->b`` (comp ``b`` nested in ``a``), outermost first."""
    return [part.strip() for part in path.split("->")]


def resolve_composition(info: TemplateInfo, path: str) -> Composition:
    """The composition ``path`` names; every step of an ``a->b`` path must exist."""
    found: Composition | None = None
    for name in comp_path(path):
        found = info.composition(name)
        if found is None:
            raise composition_not_found(name)
    assert found is not None  # comp_path never returns an empty list
    return found


def check_request(request: RenderRequest) -> Composition:
    """The job's composition, after checking that every asset's target exists in it."""
    composition = resolve_composition(request.info, request.composition)
    for asset in request.assets:
        check_asset(request.info, composition, asset)
    return composition


def check_asset(info: TemplateInfo, job_composition: Composition, asset: RenderAsset) -> None:
    if asset.type in LAYER_ASSETS and asset.layer_name is not None:
        composition = resolve_composition(info, asset.composition) if asset.composition else job_composition
        if not composition.layers_named(asset.layer_name):
            raise layer_not_found(asset.layer_name, composition.name)
    elif asset.type == "essential" and asset.layer_name is not None:
        check_control(info, asset.layer_name)


def check_control(info: TemplateInfo, name: str) -> None:
    """An ``essential`` asset names an Essential Graphics control, when the template has any."""
    if info.controls and all(control.name != name for control in info.controls):
        raise RenderError(f"Essential Graphics control '{name}' not found")
