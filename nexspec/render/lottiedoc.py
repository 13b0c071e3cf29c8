"""Edits a Bodymovin (Lottie) document before it is drawn: the job's composition and its assets.

Layers are matched by ``nm`` in the target composition, as nexrender matches After Effects
layers by name. Images end up as data URIs inside the document, because ThorVG is given
the document from memory (thorvg-python 1.1.3 cannot pass a resource folder along).
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nexspec.errors import RenderError
from nexspec.render.base import RenderAsset, RenderRequest
from nexspec.render.joblog import RenderLog
from nexspec.render.targets import comp_path, composition_not_found, layer_not_found

if TYPE_CHECKING:
    from PIL import Image

Json = dict[str, Any]  # a parsed Bodymovin object; its shape is checked where it is read

TEXT_LAYER, IMAGE_LAYER = 5, 2
NOT_FOR_LOTTIE = frozenset({"static", "script", "function", "essential", "job"})
TRANSFORM_KEYS = {
    "anchor point": "a",
    "position": "p",
    "scale": "s",
    "rotation": "r",
    "opacity": "o",
}


def lottie_file(request: RenderRequest) -> Path:
    """The Bodymovin JSON of the request: the template itself, or a file inside its folder."""
    root = request.template_root
    if root.is_file():
        return root
    if request.info.lottie is None:
        raise RenderError(f"Template '{request.template_name}' has no Lottie (Bodymovin) export")
    path = root / request.info.lottie
    if not path.is_file():
        raise RenderError(f"Lottie file '{request.info.lottie}' not found in the template")
    return path


def load_document(path: Path) -> Json:
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError) as error:
        raise RenderError(f"Lottie file '{path.name}' cannot be read: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("layers"), list):
        raise RenderError(f"Lottie file '{path.name}' is not a Bodymovin animation")
    return document


def root_name(document: Json) -> str:
    """The root composition's name: its ``nm``, or ``main`` (as introspection names it)."""
    return str(document.get("nm") or "main")


def select_composition(document: Json, name: str, root: str) -> Json:
    """A document whose root is composition ``name``: the root itself or a precomposition.

    A precomposition is drawn at the root's size and timing, as the job's composition.
    """
    if name == root:
        return document
    layers = _precomp_layers(document, name)
    if layers is None:
        raise composition_not_found(name)
    return {**document, "nm": name, "layers": layers}


def _precomp_layers(document: Json, name: str) -> list[Json] | None:
    for asset in document.get("assets", ()):
        if isinstance(asset.get("layers"), list) and name in (asset.get("nm"), asset.get("id")):
            layers: list[Json] = asset["layers"]
            return layers
    return None


def composition_layers(document: Json, path: str, root: str) -> list[Json]:
    """The layers of the composition an asset names (the innermost of an ``a->b`` path)."""
    name = comp_path(path)[-1]
    if name == root or name == document.get("nm"):
        layers: list[Json] = document["layers"]
        return layers
    found = _precomp_layers(document, name)
    if found is None:
        raise composition_not_found(name)
    return found


def apply_assets(
    document: Json, request: RenderRequest, log: RenderLog, *, root: str, checked: bool
) -> tuple[Path, ...]:
    """Apply the request's assets to ``document`` in place; return the audio files to mux.

    ``checked`` means the targets were already checked against the After Effects project
    beside the export: a layer missing from the export is then skipped with a warning.
    """
    audio: list[Path] = []
    for asset in request.assets:
        if asset.type in NOT_FOR_LOTTIE:
            log.warn(f"{asset.type} asset{_named(asset)}: not applicable to a Lottie render")
        elif asset.type == "audio":
            audio.append(_audio_source(document, asset, request, log, root))
        else:
            _apply_to_layers(document, asset, request, log, root=root, checked=checked)
    return tuple(audio)


def _named(asset: RenderAsset) -> str:
    label = asset.layer_name or asset.name or (asset.src.name if asset.src else None)
    return f" '{label}'" if label else ""


def _audio_source(
    document: Json, asset: RenderAsset, request: RenderRequest, log: RenderLog, root: str
) -> Path:
    if asset.src is None:
        raise RenderError(f"Audio asset for layer '{asset.layer_name}' has no source file")
    comp = asset.composition or request.composition
    if asset.layer_name and not _layers_named(document, asset.layer_name, comp, root):
        log.warn(
            f"audio '{asset.src.name}': no layer '{asset.layer_name}' in the Lottie export; "
            "muxed as the soundtrack"
        )
    else:
        log.info(f"Asset audio -> layer '{asset.layer_name}': {asset.src.name} (soundtrack)")
    return asset.src


def _layers_named(document: Json, name: str, composition: str, root: str) -> list[Json]:
    layers = composition_layers(document, composition, root)
    return [layer for layer in layers if layer.get("nm") == name]


def _apply_to_layers(
    document: Json,
    asset: RenderAsset,
    request: RenderRequest,
    log: RenderLog,
    *,
    root: str,
    checked: bool,
) -> None:
    if asset.layer_name is None:
        raise RenderError(f"{asset.type.capitalize()} asset has no layerName")
    comp = asset.composition or request.composition
    layers = _layers_named(document, asset.layer_name, comp, root)
    if not layers:
        if not checked:
            raise layer_not_found(asset.layer_name, comp_path(comp)[-1])
        log.warn(f"{asset.type} asset: layer '{asset.layer_name}' is not in the Lottie export; skipped")
        return
    for layer in layers:
        _apply_to_layer(document, layer, asset, log)


def _apply_to_layer(document: Json, layer: Json, asset: RenderAsset, log: RenderLog) -> None:
    prop = (asset.property or "").strip()
    if asset.type == "text" or (asset.type == "data" and prop.lower() == "source text"):
        set_text(document, layer, str(asset.value), log)
    elif asset.type == "data":
        _set_transform(layer, prop, asset.value, log)
    elif asset.type in ("image", "video"):
        _swap_image(document, layer, asset, log)
    else:
        log.warn(f"{asset.type} asset{_named(asset)}: unknown asset type, skipped")


def set_text(document: Json, layer: Json, text: str, log: RenderLog) -> None:
    name = layer.get("nm")
    if layer.get("ty") != TEXT_LAYER:
        raise RenderError(f"Layer '{name}' is not a text layer")
    # After Effects and Bodymovin separate lines with a carriage return.
    value = text.replace("\r\n", "\r").replace("\n", "\r")
    keyframes = layer["t"]["d"]["k"]
    for keyframe in keyframes:
        keyframe["s"]["t"] = value
    log.info(f"Asset text -> layer '{name}': {json.dumps(text, ensure_ascii=False)}")
    _release_glyphs(document, keyframes[0]["s"].get("f"), value, log)


def _release_glyphs(document: Json, font: str | None, text: str, log: RenderLog) -> None:
    """Drop a font's embedded glyphs when ``text`` needs characters they lack.

    ThorVG silently skips characters that have no glyph; without glyph data it draws the
    text with a loaded font file instead (the template's own, or the bundled DejaVu Sans).
    """
    family, style = _font_face(document, font)
    chars = document.get("chars") or []
    own = [c for c in chars if (c.get("fFamily"), c.get("style")) == (family, style)]
    if not own:
        return
    missing = sorted(set(text) - {c.get("ch") for c in own} - {"\r"})
    if missing:
        document["chars"] = [c for c in chars if c not in own]
        log.warn(
            f"font '{font}': glyphs for {''.join(missing)!r} are not embedded in the "
            "template; its text is drawn with a font file instead"
        )


def _font_face(document: Json, font: str | None) -> tuple[str | None, str | None]:
    for entry in (document.get("fonts") or {}).get("list", ()):
        if entry.get("fName") == font:
            return entry.get("fFamily"), entry.get("fStyle")
    return None, None


def _set_transform(layer: Json, prop: str, value: object, log: RenderLog) -> None:
    key = TRANSFORM_KEYS.get(prop.lower().removeprefix("transform.").strip())
    if key is None:
        log.warn(
            f"data asset -> layer '{layer.get('nm')}': property '{prop}' is not applied "
            "by the Lottie renderer"
        )
        return
    layer.setdefault("ks", {})[key] = {"a": 0, "k": _transform_value(key, value)}
    log.info(f"Asset data -> layer '{layer.get('nm')}': {prop} = {json.dumps(value)}")


def _transform_value(key: str, value: object) -> float | list[float]:
    if isinstance(value, int | float) and key in ("r", "o"):
        return float(value)
    if isinstance(value, int | float):
        value = [value, value]
    if not isinstance(value, list) or not all(isinstance(v, int | float) for v in value):
        raise RenderError(f"Data asset value {json.dumps(value)} is not a number or a list of numbers")
    pad = 100.0 if key == "s" else 0.0
    return [float(v) for v in value] + [pad] * (3 - len(value))


def _swap_image(document: Json, layer: Json, asset: RenderAsset, log: RenderLog) -> None:
    name = layer.get("nm")
    if layer.get("ty") != IMAGE_LAYER or "refId" not in layer:
        raise RenderError(f"Layer '{name}' is not an image layer")
    if asset.src is None:
        raise RenderError(f"{asset.type.capitalize()} asset for layer '{name}' has no source file")
    original = _asset_by_id(document, layer["refId"])
    box = (int(original.get("w") or 0), int(original.get("h") or 0))
    image = _video_still(asset.src, log) if asset.type == "video" else _open_image(asset.src)
    uri, note = image_data_uri(image, asset.src, box)
    new_id = f"{layer['refId']}.{len(document['assets'])}"
    document["assets"].append({"id": new_id, "w": box[0], "h": box[1], "u": "", "p": uri, "e": 1})
    layer["refId"] = new_id
    log.info(f"Asset {asset.type} -> layer '{name}': {asset.src.name}{note}")


def _asset_by_id(document: Json, ref: str) -> Json:
    for asset in document.get("assets", ()):
        if asset.get("id") == ref:
            found: Json = asset
            return found
    raise RenderError(f"Image asset '{ref}' not found in the Lottie file")


def _open_image(path: Path) -> Image.Image:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            return image
    except (OSError, UnidentifiedImageError) as error:
        raise RenderError(f"Image '{path.name}' cannot be read: {error}") from None


def _video_still(path: Path, log: RenderLog) -> Image.Image:
    from nexspec.render.encode import first_video_frame

    image = first_video_frame(path)
    log.warn(f"video '{path.name}': Lottie image layers show stills; its first frame is used")
    return image


def image_data_uri(image: Image.Image, source: Path, box: tuple[int, int]) -> tuple[str, str]:
    """A data URI showing ``image`` centred in ``box``, and a note for the log.

    ThorVG fits an image into its asset's box anchored top-left where lottie-web centres it,
    so an image of another shape is padded to the box's shape first.
    """
    width, height = image.size
    note = f" ({width}x{height})"
    same_shape = not all(box) or abs(width * box[1] - height * box[0]) <= 0.01 * width * box[1]
    if same_shape and image.format in ("PNG", "JPEG"):
        return _uri(f"image/{image.format.lower()}", source.read_bytes()), note
    if not same_shape:
        image = _pad_to_shape(image, box)
        note = f" ({width}x{height}, centred in the layer's {box[0]}x{box[1]} box)"
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return _uri("image/png", buffer.getvalue()), note


def _pad_to_shape(image: Image.Image, box: tuple[int, int]) -> Image.Image:
    from PIL import Image

    width, height = image.size
    scale = max(width / box[0], height / box[1])
    size = (round(box[0] * scale), round(box[1] * scale))
    padded = Image.new("RGBA", size, (0, 0, 0, 0))
    padded.paste(image.convert("RGBA"), ((size[0] - width) // 2, (size[1] - height) // 2))
    return padded


def _uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def embed_images(document: Json, folder: Path, log: RenderLog) -> None:
    """Turn the export's image files (``u`` + ``p``, beside the JSON) into data URIs."""
    for asset in document.get("assets", ()):
        path = asset.get("p")
        if not isinstance(path, str) or asset.get("e") == 1 or path.startswith("data:"):
            continue
        file = (folder / str(asset.get("u") or "") / path).resolve()
        if not file.is_relative_to(folder.resolve()) or not file.is_file():
            log.warn(
                f"image '{asset.get('u') or ''}{path}' is not beside the Lottie file; it will be missing"
            )
            continue
        mime = "image/jpeg" if file.suffix.lower() in (".jpg", ".jpeg") else "image/png"
        asset.update({"u": "", "p": _uri(mime, file.read_bytes()), "e": 1})
