"""Fonts (multipart TTF, 40 MiB) and secrets (never returned)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from backend_kit import job_for, wait_job

FONT = Path(__file__).resolve().parents[2] / "nexspec" / "fonts" / "DejaVuSans-Bold.ttf"


def test_font_upload_list_get_delete(api: httpx.Client, template: dict[str, Any]) -> None:
    with FONT.open("rb") as font:
        response = api.post("/fonts", files={"font": ("Brand-Bold.ttf", font, "font/ttf")})
    assert response.status_code == 201, response.text
    font_doc = response.json()
    assert font_doc["fileName"] == "Brand-Bold.ttf" and font_doc["familyName"] == "DejaVu Sans"
    assert set(font_doc) == {"id", "familyName", "fileName", "createdAt"}
    assert font_doc in api.get("/fonts").json()
    assert api.get(f"/fonts/{font_doc['id']}").json() == font_doc
    job = api.post("/jobs", json=job_for(template["id"], fonts=["Brand-Bold.ttf", "Other.ttf"])).json()
    assert job["missingFonts"] == ["Other.ttf"]
    assert api.delete(f"/fonts/{font_doc['id']}").status_code in (204, 409)


def test_font_family_override(api: httpx.Client) -> None:
    with FONT.open("rb") as font:
        response = api.post("/fonts", files={"font": ("X.TTF", font)}, data={"familyName": "Brand"})
    assert response.status_code == 201 and response.json()["familyName"] == "Brand"


@pytest.mark.parametrize(
    ("files", "status"),
    [
        ({"font": ("font.otf", b"OTTO....", "font/otf")}, 400),
        ({"font": ("font.ttf", b"not a font at all", "font/ttf")}, 400),
        ({"other": ("font.ttf", b"\x00\x01\x00\x00", "font/ttf")}, 400),
        ({"font": ("big.ttf", b"\x00\x01\x00\x00" + b"\x00" * (40 * 1024**2), "font/ttf")}, 413),
    ],
    ids=["otf", "not-ttf", "no-field", "too-large"],
)
def test_font_rejections(api: httpx.Client, files: dict[str, Any], status: int) -> None:
    response = api.post("/fonts", files=files)
    assert response.status_code == status
    assert "error" in response.json()


def test_unknown_font_is_404(api: httpx.Client) -> None:
    assert api.get("/fonts/01ARZ3NDEKTSV4RRFFQ69G5FAV").status_code == 404
    assert api.delete("/fonts/01ARZ3NDEKTSV4RRFFQ69G5FAV").status_code == 404


def test_secrets(api: httpx.Client) -> None:
    created = api.put("/secrets", json={"name": "API_KEY_X", "value": "v4lue"})
    assert created.status_code == 201
    secret = created.json()
    assert set(secret) == {"id", "name", "createdAt"}
    duplicate = api.put("/secrets", json={"name": "API_KEY_X", "value": "other"})
    assert duplicate.status_code == 409 and duplicate.json()["errorCode"] == "SECRET_ALREADY_EXISTS"
    listed = api.get("/secrets")
    assert secret in listed.json() and "v4lue" not in listed.text
    deleted = api.delete(f"/secrets/{secret['id']}")
    assert deleted.status_code == 200 and deleted.content == b""
    assert api.delete(f"/secrets/{secret['id']}").status_code == 404


@pytest.mark.parametrize("body", [{}, {"name": "x"}, {"value": "v"}, {"name": "bad name", "value": "v"}, []])
def test_secret_validation(api: httpx.Client, body: Any) -> None:
    response = api.put("/secrets", json=body)
    assert response.status_code == 400 and response.json()["details"]


def test_library_fonts_reach_the_renderer_under_their_uploaded_name(
    api: httpx.Client, template: dict[str, Any]
) -> None:
    with FONT.open("rb") as font:
        uploaded = api.post("/fonts", files={"font": ("House-Sans.ttf", font, "font/ttf")}).json()
    created = api.post("/jobs", json=job_for(template["id"])).json()
    finished = wait_job(api, created["id"])
    assert finished["status"] == "finished", finished
    log = api.get(f"/jobs/{created['id']}/logs").text
    assert "Font: House-Sans.ttf" in log
    assert api.delete(f"/fonts/{uploaded['id']}").status_code == 204
