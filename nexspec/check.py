"""Jobs checked against their templates: do the compositions, layers and controls exist?

Mistakes here are what a render farm reports only after the render started ("Layer
'subtitle' not found"); catching them offline, with a did-you-mean hint, is the point.
Results are memoised per (template, composition, asset), so a 10,000-row batch costs
little more than one job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from nexspec.diagnostics import Diagnostic, Location, did_you_mean, error, warning
from nexspec.payload import FieldPath, JsonObject, JsonValue, format_path
from nexspec.templateinfo import Composition, LayerKind, TemplateInfo, TemplateKind

MAX_PROBLEMS_PER_JOB = 10
_LAYER_ASSETS = frozenset({"text", "data", "image", "video", "audio"})
_FITS: Mapping[str, frozenset[LayerKind]] = {
    "text": frozenset({LayerKind.TEXT}),
    "image": frozenset({LayerKind.FOOTAGE}),
    "video": frozenset({LayerKind.FOOTAGE}),
    "audio": frozenset({LayerKind.AUDIO, LayerKind.FOOTAGE}),
}
_WHY = {
    "text": "text assets replace a text layer's Source Text",
    "image": "image assets replace the source of a footage layer",
    "video": "video assets replace the source of a footage layer",
    "audio": "audio assets replace the source of an audio or footage layer",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem with one asset, independent of which job it is in."""

    severity: str
    message: str
    field: FieldPath
    hint: str = ""


@dataclass(frozen=True, slots=True)
class JobToCheck:
    """What the checker needs of a resolved job (kept small so callers can build it)."""

    key: str  # the job spec it came from, to cap repeated findings
    name: str
    template: str
    composition: str | None
    payload: JsonObject
    locate: Callable[[FieldPath], Location]
    origin: str


class Checker:
    """Checks jobs against introspected templates; ``None`` means the template was unreadable."""

    def __init__(self, infos: Mapping[str, TemplateInfo | None]) -> None:
        self.infos = infos
        self._memo: dict[tuple[object, ...], tuple[Finding, ...]] = {}

    def check(self, jobs: Iterable[JobToCheck]) -> list[Diagnostic]:
        problems: list[Diagnostic] = []
        counts: dict[str, int] = {}
        where: dict[str, Location] = {}
        for job in jobs:
            for finding in self.findings(job.template, job.composition, job.payload):
                counts[job.key] = counts.get(job.key, 0) + 1
                where.setdefault(job.key, job.locate(()))
                if counts[job.key] <= MAX_PROBLEMS_PER_JOB:
                    problems.append(_diagnostic(job, finding))
        for key, count in counts.items():
            if count > MAX_PROBLEMS_PER_JOB:
                more = count - MAX_PROBLEMS_PER_JOB
                problems.append(error(f"{more} more problem(s) in job '{key}' not shown", where[key]))
        return problems

    def findings(self, template: str, composition: str | None, payload: JsonObject) -> tuple[Finding, ...]:
        info = self.infos.get(template)
        if info is None:
            return ()
        found = list(self._composition(info, composition))
        assets = payload.get("assets")
        if isinstance(assets, list):
            for index, asset in enumerate(assets):
                if isinstance(asset, dict):
                    found.extend(self._asset(info, composition, asset, ("assets", index)))
        return tuple(found)

    def _composition(self, info: TemplateInfo, composition: str | None) -> tuple[Finding, ...]:
        key = ("comp", id(info), composition)
        if key not in self._memo:
            self._memo[key] = tuple(_composition_findings(info, composition))
        return self._memo[key]

    def _asset(
        self, info: TemplateInfo, composition: str | None, asset: JsonObject, path: FieldPath
    ) -> tuple[Finding, ...]:
        if asset.get("type") == "job":
            return self._nested(info, composition, asset, path)
        key = (
            "asset",
            id(info),
            composition,
            asset.get("type"),
            asset.get("layerName"),
            asset.get("composition"),
            asset.get("property"),
        )
        cached = self._memo.get(key)
        if cached is None:
            cached = self._memo[key] = tuple(_asset_findings(info, composition, asset))
        return tuple(Finding(f.severity, f.message, (*path, *f.field), f.hint) for f in cached)

    def _nested(
        self, info: TemplateInfo, composition: str | None, asset: JsonObject, path: FieldPath
    ) -> tuple[Finding, ...]:
        found = list(
            self._asset(
                info,
                composition,
                {
                    "type": "image",
                    "layerName": asset.get("layerName"),
                    "composition": asset.get("composition"),
                },
                path,
            )
        )
        ref = asset.get("template")
        if isinstance(ref, dict):
            for finding in self.findings(str(ref.get("id")), _str(ref.get("composition")), asset):
                found.append(
                    Finding(finding.severity, finding.message, (*path, *finding.field), finding.hint)
                )
        return tuple(found)


def _str(value: JsonValue) -> str | None:
    return value if isinstance(value, str) else None


def _diagnostic(job: JobToCheck, finding: Finding) -> Diagnostic:
    make = error if finding.severity == "error" else warning
    detail = f"in job '{job.name}' ({job.origin})" if job.name != job.key else ""
    field = format_path(("jobs", job.key, *finding.field))
    return make(finding.message, job.locate(finding.field), field=field, hint=finding.hint, detail=detail)


def _composition_findings(info: TemplateInfo, composition: str | None) -> list[Finding]:
    if composition is None or not info.compositions or composition == "*":
        return []
    missing = [name for name in composition.split("->") if info.composition(name.strip()) is None]
    return [
        Finding(
            "error",
            f"composition '{name}' not found in the template",
            ("composition",),
            did_you_mean(name, [c.name for c in info.compositions])
            or _listing("compositions", [c.name for c in info.compositions]),
        )
        for name in missing
    ]


def _target(info: TemplateInfo, composition: str | None, asset: JsonObject) -> tuple[Composition, ...] | None:
    """The compositions an asset's layer may be in; ``None`` when that cannot be known."""
    name = _str(asset.get("composition")) or composition
    if name == "*":
        return info.compositions
    if name is None:
        # A job naming no composition renders the template's first one (a .mogrt's, a
        # Lottie's root), so that is where its layers must be.
        return info.compositions[:1]
    comp = info.composition(name.split("->")[-1].strip())
    return (comp,) if comp is not None else None


def _asset_findings(info: TemplateInfo, composition: str | None, asset: JsonObject) -> list[Finding]:
    kind = asset.get("type")
    layer_name = asset.get("layerName")
    if kind == "essential":
        return _essential(info, asset)
    if not isinstance(layer_name, str) or kind not in _LAYER_ASSETS or not info.compositions:
        return []
    if asset.get("composition") is not None:
        found = _composition_findings(info, _str(asset.get("composition")))
        if found:
            return [Finding(f.severity, f.message, ("composition",), f.hint) for f in found]
    comps = _target(info, composition, asset)
    if comps is None:
        return []
    layers = [layer for comp in comps for layer in comp.layers_named(layer_name)]
    where = _where(comps)
    if not layers:
        names = sorted({layer.name for comp in comps for layer in comp.layers})
        return [
            Finding(
                "error",
                f"layer '{layer_name}' not found in {where}",
                ("layerName",),
                did_you_mean(layer_name, names) or _listing("layers", names),
            )
        ]
    return _fit(str(kind), asset, layer_name, [layer.kind for layer in layers], where)


def _fit(kind: str, asset: JsonObject, layer_name: str, kinds: list[LayerKind], where: str) -> list[Finding]:
    wanted = _FITS.get(kind)
    if kind == "data":
        prop = asset.get("property")
        if isinstance(prop, str) and prop.split(".")[0] == "Source Text":
            wanted = _FITS["text"]
    if wanted is None or any(k in wanted for k in kinds):
        return []
    severity = "warning" if kind == "audio" else "error"
    actual = kinds[0].value
    return [
        Finding(
            severity,
            f"layer '{layer_name}' in {where} is {_a(actual)} layer, not {_a(_noun(wanted))} layer",
            ("layerName",),
            _WHY.get(kind, "Source Text lives on text layers"),
        )
    ]


def _noun(kinds: frozenset[LayerKind]) -> str:
    return " or ".join(sorted(k.value for k in kinds))


def _a(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def _where(comps: tuple[Composition, ...]) -> str:
    if len(comps) == 1:
        return f"composition '{comps[0].name}'"
    return "any composition"


def _essential(info: TemplateInfo, asset: JsonObject) -> list[Finding]:
    name = asset.get("layerName")
    if info.kind is not TemplateKind.MOGRT or not isinstance(name, str) or not info.controls:
        return []
    names = [c.name for c in info.controls]
    if _control_exists(name, names):
        return []
    return [
        Finding(
            "error",
            f"Essential Graphics control '{name}' not found in the .mogrt",
            ("layerName",),
            did_you_mean(name, names) or _listing("controls", names),
        )
    ]


def _control_exists(name: str, names: list[str]) -> bool:
    # Nested controls are addressed with dots ("Group.Field"), or "->" when a name has a dot.
    parts = name.split("->") if "->" in name else name.split(".")
    return name in names or parts[-1] in names or parts[0] in names


def _listing(what: str, names: list[str]) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:12])
    more = f" and {len(names) - 12} more" if len(names) > 12 else ""
    return f"{what} here: {shown}{more}" if names else f"the template has no {what}"
