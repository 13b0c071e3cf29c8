"""The JSON Schemas in schema/: the spec format (nexspec) and the cloud's job payload."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import fastjsonschema
import pytest
from jsonschema import Draft7Validator, Draft202012Validator
from jsonschema.protocols import Validator
from referencing import Registry
from referencing.jsonschema import DRAFT7, DRAFT202012

Schema = dict[str, Any]
Expected = list[tuple[str, str]]

SCHEMA_DIR: Final = Path(__file__).resolve().parent.parent / "schema"
NEXSPEC_PATH: Final = SCHEMA_DIR / "nexspec.schema.json"
JOB_PATH: Final = SCHEMA_DIR / "nexrender-job.schema.json"
NEXSPEC_ID: Final = "https://nexspec.dev/schema/v1/nexspec.schema.json"
JOB_ID: Final = "https://nexspec.dev/schema/v1/nexrender-job.schema.json"


def _load(path: Path) -> Schema:
    loaded = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


NEXSPEC: Final = _load(NEXSPEC_PATH)
JOB: Final = _load(JOB_PATH)
REGISTRY: Final[Registry[Any]] = Registry().with_resources(
    [
        (NEXSPEC_ID, DRAFT202012.create_resource(NEXSPEC)),
        (JOB_ID, DRAFT7.create_resource(JOB)),
    ]
)

VIDEO_CODECS: Final = [
    "video_h264_vbr_1mbps",
    "video_h264_vbr_5mbps",
    "video_h264_vbr_15mbps",
    "video_h264_vbr_40mbps",
    "video_h264_cbr_1mbps",
    "video_h264_cbr_5mbps",
    "video_h264_cbr_15mbps",
    "video_h264_cbr_40mbps",
    "video_prores_422",
    "video_prores_4444",
]
IMAGE_CODECS: Final = ["image_png", "image_jpeg"]
ASSET_TYPES: Final = [
    "text",
    "data",
    "image",
    "video",
    "audio",
    "static",
    "essential",
    "script",
    "function",
    "job",
]
TEMPLATE_ID: Final = "01JTGM9GCR71JV7EJYDF45QAFD"
CHILD_TEMPLATE_ID: Final = "01JTRDF7HCR8QAHYW8GPCP4S9Y"

# Keywords whose values are subschemas: maps of them, lists of them, or a single one.
_SCHEMA_MAPS: Final = ("properties", "patternProperties", "$defs", "definitions")
_CONDITIONAL_MAPS: Final = ("dependentSchemas", "dependencies")
_SCHEMA_LISTS: Final = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_SINGLE: Final = ("items", "additionalProperties", "unevaluatedProperties")
_CONDITIONAL_SINGLE: Final = ("if", "then", "else", "not", "propertyNames", "contains")


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _children(schema: Schema, *, conditional: bool) -> Iterator[tuple[str, str, Schema]]:
    """(keyword, pointer suffix, subschema) for the subschemas directly under `schema`."""
    maps = _SCHEMA_MAPS + (_CONDITIONAL_MAPS if conditional else ())
    singles = _SCHEMA_SINGLE + (_CONDITIONAL_SINGLE if conditional else ())
    for keyword in maps:
        for name, sub in schema.get(keyword, {}).items():
            if isinstance(sub, dict):
                yield keyword, f"/{keyword}/{_escape(name)}", sub
    for keyword in _SCHEMA_LISTS:
        for index, sub in enumerate(schema.get(keyword, [])):
            yield keyword, f"/{keyword}/{index}", sub
    for keyword in singles:
        value = schema.get(keyword)
        if isinstance(value, dict):
            yield keyword, f"/{keyword}", value
        elif isinstance(value, list):
            for index, sub in enumerate(value):
                yield keyword, f"/{keyword}/{index}", sub


def walk(schema: Schema, pointer: str = "") -> Iterator[tuple[str, Schema]]:
    """Every subschema, with its JSON pointer."""
    yield pointer, schema
    for _, suffix, sub in _children(schema, conditional=True):
        yield from walk(sub, pointer + suffix)


def documented(schema: Schema, pointer: str = "") -> Iterator[tuple[str, Schema]]:
    """Every property and every $defs entry that describes a shape users write.

    Conditions (if/then/else, not, dependentSchemas) only restate properties declared
    elsewhere, so they are skipped.
    """
    for keyword, suffix, sub in _children(schema, conditional=False):
        if keyword in ("properties", "$defs", "definitions"):
            yield pointer + suffix, sub
        yield from documented(sub, pointer + suffix)


def resolve(base: str, schema: Schema) -> Schema:
    """`schema` with its `$ref`s followed, for the annotations a pure reference lacks."""
    merged = dict(schema)
    resolver = REGISTRY.resolver(base_uri=base)
    target = schema
    while isinstance(ref := target.get("$ref"), str):
        resolved = resolver.lookup(ref)
        resolver = resolved.resolver
        target = resolved.contents
        assert isinstance(target, dict)
        for key in ("description", "examples"):
            if key not in merged and key in target:
                merged[key] = target[key]
    return merged


def nexspec_validator(pointer: str = "") -> Validator:
    """A validator for the nexspec schema, or for the subschema at `pointer` in it."""
    if not pointer:
        return Draft202012Validator(NEXSPEC, registry=REGISTRY)
    ref = f"{NEXSPEC_ID}#{quote(pointer, safe='/$~')}"
    return Draft202012Validator({"$ref": ref}, registry=REGISTRY)


FRAGMENT_VALIDATOR: Final = Draft202012Validator({"$ref": f"{NEXSPEC_ID}#/$defs/fragment"}, registry=REGISTRY)
JOB_VALIDATOR: Final = Draft7Validator(JOB, registry=REGISTRY)


def errors_of(validator: Validator, document: Any) -> Expected:
    return sorted((error.json_path, error.message) for error in validator.iter_errors(document))


# ---------------------------------------------------------------------------- the schemas


def test_nexspec_schema_is_valid_2020_12() -> None:
    assert NEXSPEC["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert NEXSPEC["$id"] == NEXSPEC_ID
    assert NEXSPEC["title"]
    assert NEXSPEC["description"]
    Draft202012Validator.check_schema(NEXSPEC)


def test_job_schema_is_valid_draft_7() -> None:
    assert JOB["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert JOB["$id"] == JOB_ID
    Draft7Validator.check_schema(JOB)


@pytest.mark.parametrize("path", [NEXSPEC_PATH, JOB_PATH], ids=lambda path: path.name)
def test_schema_files_are_formatted(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


def test_job_schema_sets_no_defaults() -> None:
    # fastjsonschema writes `default` values into the document it validates.
    assert [pointer for pointer, sub in walk(JOB) if "default" in sub] == []


NEXSPEC_DOCUMENTED: Final = list(documented(NEXSPEC))


def test_nexspec_documented_locations_are_found() -> None:
    pointers = {pointer for pointer, _ in NEXSPEC_DOCUMENTED}
    assert "/properties/version" in pointers
    assert "/$defs/fragment" in pointers
    assert "/$defs/asset/$defs/text/properties/layerName" in pointers
    assert "/$defs/jobFields/properties/settings" in pointers
    assert "/$defs/job/properties/foreach" in pointers
    assert len(pointers) > 100


@pytest.mark.parametrize(("pointer", "schema"), NEXSPEC_DOCUMENTED, ids=[p for p, _ in NEXSPEC_DOCUMENTED])
def test_nexspec_property_has_description_and_examples(pointer: str, schema: Schema) -> None:
    annotated = resolve(NEXSPEC_ID, schema)
    description = annotated.get("description")
    examples = annotated.get("examples")
    assert isinstance(description, str)
    assert description.strip()
    assert isinstance(examples, list)
    assert examples


JOB_DOCUMENTED: Final = list(documented(JOB))


@pytest.mark.parametrize(("pointer", "schema"), JOB_DOCUMENTED, ids=[p for p, _ in JOB_DOCUMENTED])
def test_job_schema_property_has_description(pointer: str, schema: Schema) -> None:
    description = resolve(JOB_ID, schema).get("description")
    assert isinstance(description, str)
    assert description.strip()


def _examples(schema: Schema) -> list[tuple[str, int, object]]:
    return [
        (pointer, index, example)
        for pointer, sub in walk(schema)
        for index, example in enumerate(sub.get("examples", []))
    ]


NEXSPEC_EXAMPLES: Final = _examples(NEXSPEC)


def test_nexspec_examples_are_found() -> None:
    assert {pointer for pointer, _, _ in NEXSPEC_EXAMPLES} >= {"", "/$defs/job"}


@pytest.mark.parametrize(
    ("pointer", "index", "example"),
    NEXSPEC_EXAMPLES,
    ids=[f"{pointer or '/'}[{index}]" for pointer, index, _ in NEXSPEC_EXAMPLES],
)
def test_nexspec_example_is_valid(pointer: str, index: int, example: object) -> None:
    assert errors_of(nexspec_validator(pointer), example) == []


def test_job_schema_examples_are_valid() -> None:
    examples = _examples(JOB)
    assert examples
    for pointer, _, example in examples:
        validator = Draft7Validator({"$ref": f"{JOB_ID}#{pointer}"}, registry=REGISTRY)
        assert errors_of(validator, example) == []


# Objects that list properties but are left open on purpose: each is closed where it is used.
OPEN_BY_DESIGN: Final = {
    "/$defs/jobFields",  # field definitions that `job` and `defaults` refer to
    "/$defs/nestedSettings",  # a $ref to the closed `settings`
    "/$defs/asset",  # dispatches on `type` to closed per-type shapes
}


def test_nexspec_objects_are_closed() -> None:
    for pointer, sub in walk(NEXSPEC):
        if "properties" not in sub or pointer in OPEN_BY_DESIGN:
            continue
        if any(part in pointer.split("/") for part in _CONDITIONAL_SINGLE + _CONDITIONAL_MAPS):
            continue
        assert sub.get("additionalProperties") is False, pointer


def test_job_and_defaults_share_job_fields() -> None:
    fields = list(NEXSPEC["$defs"]["jobFields"]["properties"])
    shared = {name: {"$ref": f"#/$defs/jobFields/properties/{name}"} for name in fields}
    job_properties = dict(NEXSPEC["$defs"]["job"]["properties"])
    assert "foreach" in job_properties
    del job_properties["foreach"]
    assert job_properties == shared
    assert NEXSPEC["$defs"]["defaults"]["properties"] == shared


def _at(schema: Schema, pointer: str) -> Any:
    node: Any = schema
    for token in pointer.strip("/").split("/"):
        key = token.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


@pytest.mark.parametrize(
    ("nexspec_pointer", "job_pointer", "key"),
    [
        ("/$defs/settings/properties/type", "/definitions/settings/properties/type", "enum"),
        (
            "/$defs/settings/properties/quality",
            "/definitions/settings/properties/quality",
            "enum",
        ),
        ("/$defs/settings/properties/engine", "/definitions/settings/properties/engine", "enum"),
        ("/$defs/codec/anyOf/0", "/definitions/settings/properties/codec", "enum"),
        ("/$defs/upload/properties/provider", "/definitions/upload/properties/provider", "enum"),
        ("/$defs/uploadParams", "/definitions/uploadParams", "required"),
        ("/$defs/webhook/properties/method", "/definitions/webhook/properties/method", "enum"),
        ("/$defs/asset/properties/type", "/definitions/asset/properties/type", "enum"),
        ("/$defs/tag/anyOf/0", "/properties/tags/items", "pattern"),
    ],
)
def test_schemas_share_vocabularies(nexspec_pointer: str, job_pointer: str, key: str) -> None:
    assert _at(NEXSPEC, nexspec_pointer)[key] == _at(JOB, job_pointer)[key]


def test_codecs_are_the_documented_ones() -> None:
    assert _at(JOB, "/definitions/settings/properties/codec")["enum"] == (VIDEO_CODECS + IMAGE_CODECS)
    assert _at(NEXSPEC, "/$defs/asset/properties/type")["enum"] == ASSET_TYPES


# ------------------------------------------------------------------ nexspec documents


def project(jobs: Schema | None = None, **extra: object) -> Schema:
    """A project with one template, `promo`, and the given jobs."""
    document: Schema = {"version": 1, "templates": {"promo": {"path": "templates/promo"}}}
    if jobs is not None:
        document["jobs"] = jobs
    document.update(extra)
    return document


def teaser(**fields: object) -> Schema:
    """A project whose only job, `teaser`, has the given fields (and template `promo`)."""
    return project({"teaser": {"template": "promo", **fields}})


def asset(item: Schema) -> Schema:
    return teaser(assets=[item])


ALL_ASSETS: Final[list[Schema]] = [
    {"type": "text", "layerName": "title", "value": "{{ vars.brand }}"},
    {"type": "text", "layerName": "price", "value": 49.5, "composition": "main->badge"},
    {"type": "data", "layerName": "bg", "property": "Effects.Fill.Color", "value": [1, 0, 0]},
    {"type": "data", "layerName": "logo", "property": "Transform.Opacity", "expression": "50"},
    {
        "type": "image",
        "layerName": "photo",
        "src": "https://cdn.example.com/{{ row.slug }}.jpg",
        "composition": "main",
        "conform": True,
        "name": "photo.jpg",
        "extension": "jpg",
        "useOriginal": False,
    },
    {"type": "video", "layerName": "clip", "src": "https://cdn.example.com/a.mp4"},
    {
        "type": "audio",
        "layerName": "music",
        "src": "https://cdn.example.com/a.mp3",
        "conform": False,
        "name": "music.mp3",
        "extension": "mp3",
    },
    {"type": "static", "src": "https://cdn.example.com/brand.cube", "name": "brand.cube"},
    {"type": "essential", "layerName": "Colors.Background", "value": {"r": 1}},
    {
        "type": "script",
        "src": "https://cdn.example.com/setup.jsx",
        "keyword": "NX",
        "parameters": [{"key": "city", "value": None}],
        "globalDefaultValue": "",
    },
    {"type": "function", "name": "nx:layer-state-set", "params": {"layerName": ["a", "b"]}},
    {
        "type": "job",
        "layerName": "intro",
        "template": "promo",
        "composition": "intro",
        "assets": [{"type": "text", "layerName": "title", "value": "Hi"}],
        "settings": {"type": "image", "frames": 0, "codec": "image_png"},
    },
    {"type": "job", "layerName": "outro", "template": "promo", "preview": True},
]

NEXSPEC_VALID: Final[list[tuple[str, Schema]]] = [
    ("minimal", {"version": 1}),
    ("empty-maps", {"version": 1, "templates": {}, "jobs": {}, "include": [], "env": []}),
    (
        "top-level-keys",
        project(
            include=["jobs/*.yaml"],
            vars={"brand": "Acme", "nested": {"any": [1, None, True]}},
            env=["CDN_BASE", "_private"],
            defaults={"template": "promo", "tags": ["launch"]},
            download="out",
        ),
    ),
    (
        "template-fields",
        {
            "version": 1,
            "templates": {
                "promo.v2": {
                    "path": "t/promo.zip",
                    "displayName": "Promo",
                    "composition": "main",
                    "type": "zip",
                },
                "Lottie_1": {"path": "t/anim.json", "type": "lottie"},
            },
        },
    ),
    ("all-assets", teaser(assets=ALL_ASSETS)),
    (
        "all-job-fields",
        teaser(
            composition="main->square",
            templateSrc="https://files.example.com/promo.zip",
            description="A note",
            settings={
                "type": "video",
                "frames": [0, 119],
                "quality": "draft",
                "codec": "video_prores_4444",
                "engine": "ae2025",
            },
            preview=False,
            fonts=["Inter-Bold.ttf"],
            upload={
                "prefix": "renders/",
                "outputUrl": "https://cdn.example.com",
                "provider": "s3",
                "params": {
                    "endpoint": "https://s3.amazonaws.com",
                    "region": "eu-west-1",
                    "bucket": "b",
                    "acl": "private",
                    "accessKeyId": "${secrets.KEY}",
                    "accessKeySecret": "${secrets.SECRET}",
                },
            },
            webhook={
                "url": "https://hooks.example.com",
                "method": "PUT",
                "headers": {"Authorization": "Bearer ${secrets.TOKEN}"},
                "data": {"anything": [1, 2]},
                "custom": True,
            },
            tags=["launch", "city_1", "A-b"],
            priority=-3,
        ),
    ),
    ("jinja-tags", teaser(tags=["city-{{ row.slug }}", "{% if row.vip %}vip{% endif %}"])),
    ("jinja-codec-needs-no-type", teaser(settings={"codec": "{{ row.codec }}"})),
    ("video-codec-default-type", teaser(settings={"codec": "video_h264_cbr_5mbps"})),
    ("image-with-frame", teaser(settings={"type": "image", "frames": 12})),
    ("aep-output", teaser(settings={"type": "aep"})),
    ("preview-without-settings", teaser(preview=True)),
    (
        "foreach-file",
        project({"city-{{ row.slug }}": {"foreach": "data/cities.csv", "template": "promo"}}),
    ),
    (
        "foreach-inline",
        project({"c-{{ row.n }}": {"foreach": [{"n": 1}, {"n": 2}], "template": "promo"}}),
    ),
    # `template` may come from `defaults`; the loader checks the merged job.
    ("template-from-defaults", project({"teaser": {}}, defaults={"template": "promo"})),
    # Checked after merging, not by the schema: `defaults` may be overridden per job.
    (
        "preview-and-default-settings",
        project(
            {"teaser": {"preview": True}},
            defaults={"template": "promo", "settings": {"quality": "draft"}},
        ),
    ),
]


@pytest.mark.parametrize(
    "document", [doc for _, doc in NEXSPEC_VALID], ids=[name for name, _ in NEXSPEC_VALID]
)
def test_nexspec_valid(document: Schema) -> None:
    assert errors_of(nexspec_validator(), document) == []


A0: Final = "$.jobs.teaser.assets[0]"
CODEC_ERROR: Final = "is not valid under any of the given schemas"

NEXSPEC_INVALID: Final[list[tuple[str, object, Expected]]] = [
    ("not-a-mapping", ["version", 1], [("$", "['version', 1] is not of type 'object'")]),
    ("no-version", {"jobs": {}}, [("$", "'version' is a required property")]),
    ("version-2", {"version": 2}, [("$.version", "1 was expected")]),
    ("version-true", {"version": True}, [("$.version", "1 was expected")]),
    (
        "unknown-top-level-key",
        {"version": 1, "job": {}},
        [("$", "Additional properties are not allowed ('job' was unexpected)")],
    ),
    (
        "include-not-a-list",
        {"version": 1, "include": "jobs/*.yaml"},
        [("$.include", "'jobs/*.yaml' is not of type 'array'")],
    ),
    (
        "env-bad-name",
        {"version": 1, "env": ["CDN-BASE"]},
        [("$.env[0]", "'CDN-BASE' does not match '^[A-Za-z_][A-Za-z0-9_]*$'")],
    ),
    (
        "env-duplicate",
        {"version": 1, "env": ["A", "A"]},
        [("$.env", "['A', 'A'] has non-unique elements")],
    ),
    (
        "vars-not-a-mapping",
        {"version": 1, "vars": ["a"]},
        [("$.vars", "['a'] is not of type 'object'")],
    ),
    (
        "download-empty",
        {"version": 1, "download": ""},
        [("$.download", "'' should be non-empty")],
    ),
    (
        "template-name",
        {"version": 1, "templates": {"-promo": {"path": "p"}}},
        [("$.templates", "'-promo' does not match '^[A-Za-z0-9][A-Za-z0-9_.-]*$'")],
    ),
    (
        "template-without-path",
        {"version": 1, "templates": {"promo": {"composition": "main"}}},
        [("$.templates.promo", "'path' is a required property")],
    ),
    (
        "template-type",
        {"version": 1, "templates": {"promo": {"path": "p", "type": "psd"}}},
        [
            (
                "$.templates.promo.type",
                "'psd' is not one of ['aep', 'zip', 'mogrt', 'lottie']",
            )
        ],
    ),
    (
        "template-typo",
        {"version": 1, "templates": {"promo": {"path": "p", "compositon": "main"}}},
        [
            (
                "$.templates.promo",
                "Additional properties are not allowed ('compositon' was unexpected)",
            )
        ],
    ),
    (
        "job-typo",
        project({"teaser": {"tempalte": "promo"}}),
        [("$.jobs.teaser", "Additional properties are not allowed ('tempalte' was unexpected)")],
    ),
    (
        "job-not-a-mapping",
        project({"teaser": "promo"}),
        [("$.jobs.teaser", "'promo' is not of type 'object'")],
    ),
    (
        "foreach-in-defaults",
        project({}, defaults={"foreach": "data/cities.csv"}),
        [("$.defaults", "Additional properties are not allowed ('foreach' was unexpected)")],
    ),
    (
        "foreach-number",
        teaser(foreach=3),
        [("$.jobs.teaser.foreach", "3 is not of type 'string', 'array'")],
    ),
    (
        "foreach-row-not-a-mapping",
        teaser(foreach=["lisbon"]),
        [("$.jobs.teaser.foreach[0]", "'lisbon' is not of type 'object'")],
    ),
    (
        "layer-name-typo",
        asset({"type": "text", "layerNme": "title", "value": "Hi"}),
        [
            (A0, "'layerName' is a required property"),
            (A0, "Additional properties are not allowed ('layerNme' was unexpected)"),
        ],
    ),
    (
        "text-without-value",
        asset({"type": "text", "layerName": "title"}),
        [(A0, "'value' is a required property")],
    ),
    (
        "text-value-boolean",
        asset({"type": "text", "layerName": "title", "value": True}),
        [(f"{A0}.value", "True is not of type 'string', 'number'")],
    ),
    (
        "asset-without-type",
        asset({"layerName": "title", "value": "Hi"}),
        [(A0, "'type' is a required property")],
    ),
    (
        "asset-type-unknown",
        asset({"type": "gif", "layerName": "a", "src": "s"}),
        [(f"{A0}.type", f"'gif' is not one of {ASSET_TYPES!r}")],
    ),
    (
        "data-without-value-or-expression",
        asset({"type": "data", "layerName": "bg", "property": "Opacity"}),
        [(A0, "'value' is a required property")],
    ),
    (
        "data-without-property",
        asset({"type": "data", "layerName": "bg", "value": 1}),
        [(A0, "'property' is a required property")],
    ),
    (
        "image-without-src",
        asset({"type": "image", "layerName": "photo"}),
        [(A0, "'src' is a required property")],
    ),
    (
        "audio-use-original",
        asset({"type": "audio", "layerName": "m", "src": "s", "useOriginal": True}),
        [(A0, "Additional properties are not allowed ('useOriginal' was unexpected)")],
    ),
    (
        "static-with-layer",
        asset({"type": "static", "src": "s", "layerName": "a"}),
        [(A0, "Additional properties are not allowed ('layerName' was unexpected)")],
    ),
    (
        "essential-without-value",
        asset({"type": "essential", "layerName": "Headline"}),
        [(A0, "'value' is a required property")],
    ),
    (
        "script-parameter-without-value",
        asset({"type": "script", "src": "s", "parameters": [{"key": "k"}]}),
        [(f"{A0}.parameters[0]", "'value' is a required property")],
    ),
    (
        "function-without-name",
        asset({"type": "function", "params": {}}),
        [(A0, "'name' is a required property")],
    ),
    (
        "nested-job-without-template",
        asset({"type": "job", "layerName": "intro"}),
        [(A0, "'template' is a required property")],
    ),
    (
        "nested-job-aep",
        asset({"type": "job", "layerName": "i", "template": "promo", "settings": {"type": "aep"}}),
        [(f"{A0}.settings.type", "'aep' is not one of ['video', 'image']")],
    ),
    (
        "nested-job-preview-and-settings",
        asset(
            {
                "type": "job",
                "layerName": "i",
                "template": "promo",
                "preview": True,
                "settings": {"quality": "draft"},
            }
        ),
        [(f"{A0}.preview", "False was expected")],
    ),
    (
        "nested-job-bad-asset",
        asset({"type": "job", "layerName": "i", "template": "p", "assets": [{"type": "text"}]}),
        [
            (f"{A0}.assets[0]", "'layerName' is a required property"),
            (f"{A0}.assets[0]", "'value' is a required property"),
        ],
    ),
    (
        "preview-and-settings",
        teaser(preview=True, settings={"type": "video"}),
        [("$.jobs.teaser.preview", "False was expected")],
    ),
    (
        "preview-not-boolean",
        teaser(preview="yes"),
        [("$.jobs.teaser.preview", "'yes' is not of type 'boolean'")],
    ),
    (
        "image-without-frames",
        teaser(settings={"type": "image", "codec": "image_png"}),
        [("$.jobs.teaser.settings", "'frames' is a required property")],
    ),
    (
        "video-codec-for-image",
        teaser(settings={"type": "image", "frames": 1, "codec": "video_prores_422"}),
        [("$.jobs.teaser.settings.type", "'video' was expected")],
    ),
    (
        "image-codec-for-video",
        teaser(settings={"type": "video", "codec": "image_jpeg"}),
        [("$.jobs.teaser.settings.type", "'image' was expected")],
    ),
    (
        "image-codec-without-type",
        teaser(settings={"codec": "image_png"}),
        [("$.jobs.teaser.settings", "'type' is a required property")],
    ),
    (
        "codec-unprefixed",
        teaser(settings={"codec": "h264_vbr_15mbps"}),
        [("$.jobs.teaser.settings.codec", f"'h264_vbr_15mbps' {CODEC_ERROR}")],
    ),
    (
        "settings-typo",
        teaser(settings={"codecs": "video_prores_422"}),
        [
            (
                "$.jobs.teaser.settings",
                "Additional properties are not allowed ('codecs' was unexpected)",
            )
        ],
    ),
    (
        "frames-negative",
        teaser(settings={"frames": -1}),
        [("$.jobs.teaser.settings.frames", "-1 is less than the minimum of 0")],
    ),
    (
        "frames-one-item",
        teaser(settings={"frames": [4]}),
        [("$.jobs.teaser.settings.frames", "[4] is too short")],
    ),
    (
        "frames-three-items",
        teaser(settings={"frames": [0, 1, 2]}),
        [("$.jobs.teaser.settings.frames", "[0, 1, 2] is too long")],
    ),
    (
        "frames-jinja",
        teaser(settings={"frames": "{{ row.frame }}"}),
        [("$.jobs.teaser.settings.frames", "'{{ row.frame }}' is not of type 'integer', 'array'")],
    ),
    (
        "quality",
        teaser(settings={"quality": "best"}),
        [("$.jobs.teaser.settings.quality", "'best' is not one of ['draft', 'full']")],
    ),
    (
        "engine",
        teaser(settings={"engine": "ae2024"}),
        [("$.jobs.teaser.settings.engine", "'ae2024' is not one of ['ae2025', 'ae2026']")],
    ),
    (
        "upload-params-without-bucket",
        teaser(
            upload={
                "params": {
                    "region": "eu-west-1",
                    "accessKeyId": "${secrets.KEY}",
                    "accessKeySecret": "${secrets.SECRET}",
                }
            }
        ),
        [("$.jobs.teaser.upload.params", "'bucket' is a required property")],
    ),
    (
        "upload-provider",
        teaser(upload={"provider": "gcs"}),
        [("$.jobs.teaser.upload.provider", "'gcs' is not one of ['s3']")],
    ),
    (
        "webhook-without-url",
        teaser(webhook={"method": "POST"}),
        [("$.jobs.teaser.webhook", "'url' is a required property")],
    ),
    (
        "webhook-method",
        teaser(webhook={"url": "u", "method": "PATCH"}),
        [
            (
                "$.jobs.teaser.webhook.method",
                "'PATCH' is not one of ['GET', 'POST', 'PUT', 'DELETE']",
            )
        ],
    ),
    (
        "webhook-header-number",
        teaser(webhook={"url": "u", "headers": {"X-Retry": 3}}),
        [("$.jobs.teaser.webhook.headers['X-Retry']", "3 is not of type 'string'")],
    ),
    (
        "tag-with-space",
        teaser(tags=["summer sale"]),
        [("$.jobs.teaser.tags[0]", f"'summer sale' {CODEC_ERROR}")],
    ),
    (
        "tag-number",
        teaser(tags=[2026]),
        [("$.jobs.teaser.tags[0]", "2026 is not of type 'string'")],
    ),
    (
        "priority-string",
        teaser(priority="high"),
        [("$.jobs.teaser.priority", "'high' is not of type 'integer'")],
    ),
    (
        "foreach-job-name-is-quoted",
        project({"city-{{ row.slug }}": {"foreach": "c.csv", "priority": 1.5}}),
        [("$.jobs['city-{{ row.slug }}'].priority", "1.5 is not of type 'integer'")],
    ),
]


@pytest.mark.parametrize(
    ("document", "expected"),
    [(doc, expected) for _, doc, expected in NEXSPEC_INVALID],
    ids=[name for name, _, _ in NEXSPEC_INVALID],
)
def test_nexspec_invalid(document: object, expected: Expected) -> None:
    assert errors_of(nexspec_validator(), document) == sorted(expected)


FRAGMENT_CASES: Final[list[tuple[str, object, Expected]]] = [
    ("empty", {}, []),
    ("jobs-only", {"jobs": {"outro": {"template": "promo"}}}, []),
    ("all-keys", {"version": 1, "templates": {"p": {"path": "p"}}, "jobs": {}}, []),
    (
        "defaults",
        {"defaults": {"template": "promo"}},
        [("$", "Additional properties are not allowed ('defaults' was unexpected)")],
    ),
    (
        "include",
        {"include": ["more/*.yaml"]},
        [("$", "Additional properties are not allowed ('include' was unexpected)")],
    ),
    ("version-2", {"version": 2}, [("$.version", "1 was expected")]),
    (
        "bad-asset",
        {"jobs": {"outro": {"assets": [{"type": "image", "layerName": "a"}]}}},
        [("$.jobs.outro.assets[0]", "'src' is a required property")],
    ),
]


@pytest.mark.parametrize(
    ("document", "expected"),
    [(doc, expected) for _, doc, expected in FRAGMENT_CASES],
    ids=[name for name, _, _ in FRAGMENT_CASES],
)
def test_nexspec_fragment(document: object, expected: Expected) -> None:
    assert errors_of(FRAGMENT_VALIDATOR, document) == sorted(expected)


# ---------------------------------------------------------------------- job payloads


def payload(**fields: object) -> Schema:
    return {"template": {"id": TEMPLATE_ID, "composition": "main"}, **fields}


def cloud_asset(item: Schema) -> Schema:
    return payload(assets=[item])


def child(**fields: object) -> Schema:
    return {
        "type": "job",
        "layerName": "intro",
        "template": {"id": CHILD_TEMPLATE_ID, "composition": "main"},
        **fields,
    }


UPLOAD_PARAMS: Final = {
    "region": "auto",
    "bucket": "renders",
    "accessKeyId": "${secrets.KEY}",
    "accessKeySecret": "${secrets.SECRET}",
}

JOB_VALID: Final[list[tuple[str, Schema]]] = [
    ("minimal", {"template": {"id": TEMPLATE_ID}}),
    ("composition-null", {"template": {"id": TEMPLATE_ID, "composition": None}}),
    (
        "template-extras",
        {"template": {"id": TEMPLATE_ID, "src": "https://x/p.zip", "note": "kept"}},
    ),
    ("unknown-top-level-keys", payload(batchLabel="x", anything={"a": 1})),
    (
        "all-fields",
        payload(
            preview=False,
            fonts=["Inter-Bold.ttf"],
            assets=[
                {"type": "text", "layerName": "title", "value": "Hi"},
                {"type": "data", "layerName": "bg", "property": "Opacity", "value": 50},
                {"type": "image", "layerName": "p", "src": "https://x/p.png", "conform": True},
                {"type": "video", "layerName": "v", "src": "https://x/v.mp4"},
                {"type": "audio", "layerName": "a", "src": "https://x/a.mp3"},
                {"type": "static", "src": "https://x/lut.cube", "name": "lut.cube"},
                {"type": "essential", "layerName": "Headline", "value": "Hi"},
                {"type": "script", "src": "https://x/s.jsx", "keyword": "NX"},
                {"type": "function", "name": "nx:layer-autoscale", "layerName": "title"},
                {"type": "function", "name": "nx-layer-remove", "params": {"layerName": ["a"]}},
                child(
                    assets=[{"type": "text", "layerName": "t", "value": "x"}],
                    settings={"type": "video", "codec": "video_prores_4444"},
                ),
            ],
            settings={
                "type": "video",
                "frames": [0, 119],
                "quality": "full",
                "codec": "video_h264_vbr_15mbps",
                "engine": "ae2026",
            },
            upload={
                "prefix": "renders/",
                "outputUrl": "https://cdn.example.com",
                "provider": "s3",
                "params": {**UPLOAD_PARAMS, "endpoint": "https://r2.example.com", "acl": "x"},
            },
            webhook={
                "url": "https://hooks.example.com",
                "method": "GET",
                "headers": {"Authorization": "Bearer ${secrets.T}"},
                "data": {"k": [1]},
                "custom": False,
            },
            tags=["launch", "city_lisbon"],
            priority=5,
        ),
    ),
    ("asset-extra-keys", cloud_asset({"type": "video", "layerName": "v", "src": "s", "x": 1})),
    ("text-without-value", cloud_asset({"type": "text", "layerName": "t"})),
    ("image-frame", payload(settings={"type": "image", "frames": 0, "codec": "image_jpeg"})),
    ("aep", payload(settings={"type": "aep"})),
    ("preview", payload(preview=True)),
    ("preview-false-and-settings", payload(preview=False, settings={"quality": "draft"})),
    ("child-preview", cloud_asset(child(preview=True))),
]


@pytest.mark.parametrize("document", [doc for _, doc in JOB_VALID], ids=[name for name, _ in JOB_VALID])
def test_job_valid(document: Schema) -> None:
    assert errors_of(JOB_VALIDATOR, document) == []


CODEC_ENUM: Final = repr(VIDEO_CODECS + IMAGE_CODECS)

JOB_INVALID: Final[list[tuple[str, object, Expected]]] = [
    ("no-template", {"assets": []}, [("$", "'template' is a required property")]),
    ("template-without-id", {"template": {}}, [("$.template", "'id' is a required property")]),
    (
        "template-id-lowercase",
        {"template": {"id": TEMPLATE_ID.lower()}},
        [("$.template.id", f"'{TEMPLATE_ID.lower()}' does not match '^[A-Z0-9]{{26}}$'")],
    ),
    (
        "template-id-short",
        {"template": {"id": "01JTGM9G"}},
        [("$.template.id", "'01JTGM9G' does not match '^[A-Z0-9]{26}$'")],
    ),
    (
        "composition-number",
        {"template": {"id": TEMPLATE_ID, "composition": 1}},
        [("$.template.composition", "1 is not of type 'string', 'null'")],
    ),
    (
        "codec-unprefixed",
        payload(settings={"codec": "h264_vbr_15mbps"}),
        [("$.settings.codec", f"'h264_vbr_15mbps' is not one of {CODEC_ENUM}")],
    ),
    (
        "codec-unknown",
        payload(settings={"codec": "video_av1"}),
        [("$.settings.codec", f"'video_av1' is not one of {CODEC_ENUM}")],
    ),
    (
        "video-codec-for-image",
        payload(settings={"type": "image", "frames": 3, "codec": "video_h264_cbr_1mbps"}),
        [("$.settings.type", "'video' was expected")],
    ),
    (
        "image-codec-for-video",
        payload(settings={"type": "video", "codec": "image_png"}),
        [("$.settings.type", "'image' was expected")],
    ),
    (
        "image-codec-for-aep",
        payload(settings={"type": "aep", "codec": "image_png"}),
        [("$.settings.type", "'image' was expected")],
    ),
    (
        "image-codec-without-type",
        payload(settings={"codec": "image_png"}),
        [("$.settings", "'type' is a required property")],
    ),
    (
        "preview-and-settings",
        payload(preview=True, settings={"quality": "draft"}),
        [("$.preview", "False was expected")],
    ),
    (
        "image-without-frames",
        payload(settings={"type": "image"}),
        [("$.settings", "'frames' is a required property")],
    ),
    (
        "settings-type",
        payload(settings={"type": "gif"}),
        [("$.settings.type", "'gif' is not one of ['video', 'image', 'aep']")],
    ),
    (
        "settings-unknown-key",
        payload(settings={"fps": 30}),
        [("$.settings", "Additional properties are not allowed ('fps' was unexpected)")],
    ),
    (
        "frames-one-item",
        payload(settings={"frames": [10]}),
        [("$.settings.frames", "[10] is too short")],
    ),
    (
        "frames-strings",
        payload(settings={"frames": ["0", "10"]}),
        [
            ("$.settings.frames[0]", "'0' is not of type 'integer'"),
            ("$.settings.frames[1]", "'10' is not of type 'integer'"),
        ],
    ),
    (
        "frames-negative-start",
        payload(settings={"frames": [-1, 10]}),
        [("$.settings.frames[0]", "-1 is less than the minimum of 0")],
    ),
    (
        "quality",
        payload(settings={"quality": "high"}),
        [("$.settings.quality", "'high' is not one of ['draft', 'full']")],
    ),
    (
        "engine",
        payload(settings={"engine": "ae2024"}),
        [("$.settings.engine", "'ae2024' is not one of ['ae2025', 'ae2026']")],
    ),
    (
        "upload-params-without-bucket",
        payload(upload={"params": {k: v for k, v in UPLOAD_PARAMS.items() if k != "bucket"}}),
        [("$.upload.params", "'bucket' is a required property")],
    ),
    (
        "upload-params-unknown-key",
        payload(upload={"params": {**UPLOAD_PARAMS, "sessionToken": "t"}}),
        [
            (
                "$.upload.params",
                "Additional properties are not allowed ('sessionToken' was unexpected)",
            )
        ],
    ),
    (
        "upload-unknown-key",
        payload(upload={"bucket": "renders"}),
        [("$.upload", "Additional properties are not allowed ('bucket' was unexpected)")],
    ),
    (
        "upload-provider",
        payload(upload={"provider": "gcs"}),
        [("$.upload.provider", "'gcs' is not one of ['s3']")],
    ),
    (
        "webhook-without-url",
        payload(webhook={"method": "POST"}),
        [("$.webhook", "'url' is a required property")],
    ),
    (
        "webhook-method",
        payload(webhook={"url": "u", "method": "post"}),
        [("$.webhook.method", "'post' is not one of ['GET', 'POST', 'PUT', 'DELETE']")],
    ),
    (
        "webhook-custom-string",
        payload(webhook={"url": "u", "custom": "true"}),
        [("$.webhook.custom", "'true' is not of type 'boolean'")],
    ),
    (
        "tag-with-space",
        payload(tags=["summer sale"]),
        [("$.tags[0]", "'summer sale' does not match '^[a-zA-Z0-9_-]+$'")],
    ),
    (
        "priority-float",
        payload(priority=1.5),
        [("$.priority", "1.5 is not of type 'integer'")],
    ),
    (
        "fonts-not-strings",
        payload(fonts=[{"file": "a.ttf"}]),
        [("$.fonts[0]", "{'file': 'a.ttf'} is not of type 'string'")],
    ),
    (
        "asset-without-type",
        cloud_asset({"layerName": "t", "value": "x"}),
        [("$.assets[0]", "'type' is a required property")],
    ),
    (
        "asset-type-unknown",
        cloud_asset({"type": "gif", "src": "s"}),
        [("$.assets[0].type", f"'gif' is not one of {ASSET_TYPES!r}")],
    ),
    (
        "text-without-layer",
        cloud_asset({"type": "text", "value": "x"}),
        [("$.assets[0]", "'layerName' is a required property")],
    ),
    (
        "essential-without-layer",
        cloud_asset({"type": "essential", "value": "x"}),
        [("$.assets[0]", "'layerName' is a required property")],
    ),
    (
        "data-without-property",
        cloud_asset({"type": "data", "layerName": "t", "value": 1}),
        [("$.assets[0]", "'property' is a required property")],
    ),
    (
        "video-without-anything",
        cloud_asset({"type": "video"}),
        [
            ("$.assets[0]", "'layerName' is a required property"),
            ("$.assets[0]", "'src' is a required property"),
        ],
    ),
    (
        "static-without-src",
        cloud_asset({"type": "static", "name": "lut.cube"}),
        [("$.assets[0]", "'src' is a required property")],
    ),
    (
        "script-without-src",
        cloud_asset({"type": "script"}),
        [("$.assets[0]", "'src' is a required property")],
    ),
    (
        "function-without-name",
        cloud_asset({"type": "function", "layerName": "t"}),
        [("$.assets[0]", "'name' is a required property")],
    ),
    (
        "function-layer-list-empty",
        cloud_asset({"type": "function", "name": "n", "params": {"layerName": []}}),
        [("$.assets[0].params.layerName", "[] should be non-empty")],
    ),
    (
        "layer-name-number",
        cloud_asset({"type": "text", "layerName": 1, "value": "x"}),
        [("$.assets[0].layerName", "1 is not of type 'string'")],
    ),
    (
        "child-without-template",
        cloud_asset({"type": "job", "layerName": "intro"}),
        [("$.assets[0]", "'template' is a required property")],
    ),
    (
        "child-without-layer",
        cloud_asset({"type": "job", "template": {"id": CHILD_TEMPLATE_ID, "composition": "m"}}),
        [("$.assets[0]", "'layerName' is a required property")],
    ),
    (
        "child-template-without-composition",
        cloud_asset(child(template={"id": CHILD_TEMPLATE_ID})),
        [("$.assets[0].template", "'composition' is a required property")],
    ),
    (
        "child-template-id",
        cloud_asset(child(template={"id": "promo", "composition": "main"})),
        [("$.assets[0].template.id", "'promo' does not match '^[A-Z0-9]{26}$'")],
    ),
    (
        "child-aep",
        cloud_asset(child(settings={"type": "aep"})),
        [("$.assets[0].settings.type", "'aep' is not one of ['video', 'image']")],
    ),
    (
        "child-codec-mismatch",
        cloud_asset(child(settings={"codec": "image_png"})),
        [("$.assets[0].settings", "'type' is a required property")],
    ),
    (
        "child-preview-and-settings",
        cloud_asset(child(preview=True, settings={"quality": "draft"})),
        [("$.assets[0].preview", "False was expected")],
    ),
    (
        "child-bad-asset",
        cloud_asset(child(assets=[{"type": "image", "layerName": "p"}])),
        [("$.assets[0].assets[0]", "'src' is a required property")],
    ),
]


@pytest.mark.parametrize(
    ("document", "expected"),
    [(doc, expected) for _, doc, expected in JOB_INVALID],
    ids=[name for name, _, _ in JOB_INVALID],
)
def test_job_invalid(document: object, expected: Expected) -> None:
    assert errors_of(JOB_VALIDATOR, document) == sorted(expected)


@pytest.fixture(scope="module")
def compiled_job_schema() -> Callable[[object], object]:
    validate: Callable[[object], object] = fastjsonschema.compile(JOB)
    return validate


JOB_DOCUMENTS: Final[list[tuple[str, object]]] = [
    *((f"valid-{name}", doc) for name, doc in JOB_VALID),
    *((f"invalid-{name}", doc) for name, doc, _ in JOB_INVALID),
    *((f"example-{index}", doc) for _, index, doc in _examples(JOB)),
]


@pytest.mark.parametrize(
    "document", [doc for _, doc in JOB_DOCUMENTS], ids=[name for name, _ in JOB_DOCUMENTS]
)
def test_fastjsonschema_agrees_with_jsonschema(
    compiled_job_schema: Callable[[object], object], document: object
) -> None:
    untouched = copy.deepcopy(document)
    try:
        compiled_job_schema(document)
    except fastjsonschema.JsonSchemaValueException:
        fast_valid = False
    else:
        fast_valid = True
    assert fast_valid == JOB_VALIDATOR.is_valid(document)
    assert document == untouched
