"""Template lifecycle: ``awaiting_upload`` (or ``downloading``) → ``processing`` → ``uploaded``
or ``error``; fresh upload URLs; deletion guarded by active jobs.
"""

from __future__ import annotations

import shutil
import time

from nexspec.protocol import TemplateState
from nexspec.server.documents import upload_key
from nexspec.server.orders import Done, Failed, InspectOrder, InspectOutcome, Stage
from nexspec.server.payloads import TemplateCreation
from nexspec.server.problems import ApiProblem, conflict, not_found
from nexspec.server.records import TemplateRecord
from nexspec.server.services import Services
from nexspec.server.stamps import new_id, now
from nexspec.templateinfo import TemplateKind

KEY_PREFIX = "template:"
INSPECTED_STATES = (TemplateState.PROCESSING.value, TemplateState.DOWNLOADING.value)


class Templates:
    def __init__(self, services: Services) -> None:
        self._s = services
        self._in_flight: set[str] = set()

    def get(self, template_id: str) -> TemplateRecord:
        template = self._s.store.get_template(template_id)
        if template is None:
            raise not_found("Template")
        return template

    def create(self, creation: TemplateCreation) -> TemplateRecord:
        at = now()
        record = TemplateRecord(
            id=new_id(),
            type=creation.type,
            display_name=creation.display_name,
            status=(TemplateState.DOWNLOADING if creation.src else TemplateState.AWAITING_UPLOAD).value,
            created_at=at,
            updated_at=at,
            src=creation.src,
            upload_id=new_id(),
            upload_issued=None if creation.src else int(time.time()),
        )
        self._s.store.insert_template(record)
        if creation.src:
            self._s.wake()
        return record

    def new_upload_url(self, template_id: str) -> TemplateRecord:
        """Issue a fresh upload URL; every earlier one stops being honoured."""
        self.get(template_id)
        self._s.store.update_template(
            template_id, upload_id=new_id(), upload_issued=int(time.time()), updated_at=now()
        )
        return self.get(template_id)

    def rename(self, template_id: str, name: str) -> TemplateRecord:
        self.get(template_id)
        self._s.store.update_template(template_id, display_name=name, updated_at=now())
        return self.get(template_id)

    def delete(self, template_id: str) -> None:
        self.get(template_id)
        if not self._s.store.delete_template(template_id):
            raise conflict("Template is in use by active jobs")
        self._s.blobs.delete_folder(f"templates/{template_id}")
        shutil.rmtree(self._s.cache / "templates" / template_id, ignore_errors=True)

    def accept_upload(self, template_id: str, upload_id: str, size: int) -> None:
        """A complete file was stored under this upload's key: process it."""
        template = self.get(template_id)
        key = upload_key(template_id, upload_id)
        previous = template.blob
        self._s.store.update_template(
            template_id,
            blob=key,
            size=size,
            status=TemplateState.PROCESSING.value,
            error=None,
            info=None,
            updated_at=now(),
        )
        if previous and previous != key and not self._s.store.template_busy(template_id):
            self._s.blobs.delete(previous)
        self._s.wake()

    def is_current_upload(self, template_id: str, upload_id: str) -> bool:
        template = self._s.store.get_template(template_id)
        return template is not None and template.upload_id == upload_id

    # --- dispatcher side ---------------------------------------------------------------------

    def next_orders(self, room: int) -> list[InspectOrder]:
        orders: list[InspectOrder] = []
        for template in self._s.store.templates_in(INSPECTED_STATES):
            if len(orders) >= room:
                break
            if template.blob is None and template.upload_id is None:
                continue
            blob_key = template.blob or upload_key(template.id, str(template.upload_id))
            key = KEY_PREFIX + blob_key
            if key not in self._in_flight:
                self._in_flight.add(key)
                orders.append(self._task(key, blob_key, template))
        return orders

    def _task(self, key: str, blob_key: str, template: TemplateRecord) -> InspectOrder:
        if template.blob is None:  # a server-side fetch records its file key up front
            self._s.store.update_template(template.id, blob=blob_key)
        downloading = template.status == TemplateState.DOWNLOADING
        return InspectOrder(
            key=key,
            kind=TemplateKind(template.type),
            display=template.display_name,
            blob=self._s.blobs.path(blob_key),
            limits=self._s.limits,
            src=template.src if downloading else None,
            temp=self._s.blobs.temp_path("download") if downloading else None,
        )

    def handle(self, event: object) -> None:
        key = getattr(event, "key", "")
        blob = key.removeprefix(KEY_PREFIX)
        template_id = blob.split("/")[1]
        at = now()
        if isinstance(event, Stage):
            self._s.store.update_template(template_id, only_blob=blob, status=event.status, updated_at=at)
            return
        self._in_flight.discard(key)
        if isinstance(event, Done) and isinstance(event.outcome, InspectOutcome):
            self._s.store.update_template(
                template_id, only_blob=blob, status=TemplateState.UPLOADED.value,
                info=event.outcome.info, size=event.outcome.size, error=None, updated_at=at,
            )  # fmt: skip
        elif isinstance(event, Failed):
            self._s.store.update_template(
                template_id, only_blob=blob, status=TemplateState.ERROR.value,
                error=event.message, updated_at=at,
            )  # fmt: skip


def require_ready(template: TemplateRecord | None, template_id: str, *, clean_room: bool) -> TemplateRecord:
    """The template a job names: 404 when unknown, 400 (a local choice) when not uploaded."""
    if template is None:
        raise ApiProblem(404, f"Template {template_id} not found")
    if not clean_room and template.status != TemplateState.UPLOADED:
        raise ApiProblem(400, f"Template {template_id} is not ready to render (status: {template.status})")
    return template
