"""Errors the local backend answers with: JSON ``{"error": ...}`` bodies on the API, and
S3-style XML on the storage routes, as the cloud and its bucket answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from nexspec.payload import JsonObject


@dataclass(frozen=True, slots=True)
class Detail:
    """One invalid field of a request body: ``{"field": ..., "message": ...}``."""

    field: str
    message: str


class ApiProblem(Exception):
    """An API error response: status, message, optional field details and ``errorCode``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        details: Sequence[Detail] = (),
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = tuple(details)
        self.code = code

    def body(self) -> JsonObject:
        body: JsonObject = {"error": self.message}
        if self.details:
            body["details"] = [{"field": d.field, "message": d.message} for d in self.details]
        if self.code:
            body["errorCode"] = self.code
        return body


def bad_request(message: str, details: Sequence[Detail] = (), code: str | None = None) -> ApiProblem:
    return ApiProblem(400, message, details=details, code=code)


def not_found(what: str) -> ApiProblem:
    return ApiProblem(404, f"{what} not found")


def conflict(message: str, code: str | None = None) -> ApiProblem:
    return ApiProblem(409, message, code=code)


def invalid(field: str, message: str) -> ApiProblem:
    return bad_request("Validation failed", [Detail(field, message)])


class StorageProblem(Exception):
    """An S3-style error of the storage routes (presigned uploads and downloads)."""

    def __init__(self, status: int, code: str, message: str, resource: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.resource = resource

    def xml(self, request_id: str) -> bytes:
        resource = f"<Resource>{escape(self.resource)}</Resource>" if self.resource else ""
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{self.code}</Code><Message>{escape(self.message)}</Message>"
            f"{resource}<RequestId>{request_id}</RequestId></Error>"
        ).encode()
