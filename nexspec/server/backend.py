"""The local backend as one object: database, blobs, worker pools, dispatcher and webhooks,
started and stopped together. The HTTP layer (``app``) only calls into it.

On start, partial files left by a crash are dropped and jobs that were rendering are
re-queued: no worker survives the server.
"""

from __future__ import annotations

import shutil

from nexspec.server.assignments import Unrenderable, build_order
from nexspec.server.blobs import BlobStore, UrlSigner
from nexspec.server.config import ServerConfig
from nexspec.server.documents import Links, job_doc
from nexspec.server.jobs import Jobs
from nexspec.server.keys import signing_key
from nexspec.server.records import JobRecord
from nexspec.server.services import Services
from nexspec.server.stamps import now
from nexspec.server.store import Store
from nexspec.server.templates import KEY_PREFIX as TEMPLATE_KEY
from nexspec.server.templates import Templates
from nexspec.server.webhooks import WebhookSender
from nexspec.server.workers import Dispatcher, WorkerPool, pool_context

DATABASE_FILE = "nexspec.db"
LOG_TITLE = "nexspec local backend (aerender-style log)"


class Backend:
    def __init__(self, config: ServerConfig, *, token: str) -> None:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.config = config
        self.token = token
        self.base_url = f"http://{config.host}:{config.port}"
        self.store = Store(config.data_dir / DATABASE_FILE)
        self.signer = UrlSigner(signing_key(config.data_dir))
        self.services = Services(config, self.store, BlobStore(config.data_dir), self.signer, self._wake)
        self.templates = Templates(self.services)
        self.jobs = Jobs(self.services, self._terminal)
        self.webhooks = WebhookSender(
            self.store,
            retries=config.webhook_retries,
            base_delay=config.webhook_base_delay,
            timeout=config.webhook_timeout,
        )
        context = pool_context(config.start_method)
        self.render_pool = WorkerPool("render", config.workers, context)
        self.inspect_pool = WorkerPool("inspect", 1, context, crash="Processing failed")
        self._dispatcher: Dispatcher | None = None

    @property
    def blobs(self) -> BlobStore:
        return self.services.blobs

    def links(self, base: str | None = None) -> Links:
        return Links(base or self.base_url, self.signer)

    def start(self) -> None:
        self.blobs.clear_temp()
        # No render survives a restart: what the stopped renders left behind is stale.
        shutil.rmtree(self.services.work, ignore_errors=True)
        for job_id in self.store.requeue_in_flight(now()):
            self.store.append_log(job_id, ["WARNING: re-queued: the server stopped during the render"])
        self._dispatcher = Dispatcher([self.inspect_pool, self.render_pool], self._handle, self._schedule)
        self._dispatcher.start()

    def stop(self) -> None:
        if self._dispatcher is not None:
            self._dispatcher.stop()
            self._dispatcher = None
        self.webhooks.close()
        self.store.close()

    def _wake(self) -> None:
        if self._dispatcher is not None:
            self._dispatcher.wake()

    # --- dispatcher thread -------------------------------------------------------------------

    def _schedule(self) -> None:
        for order in self.templates.next_orders(self.inspect_pool.idle()):
            self.inspect_pool.submit(order)
        while self.render_pool.idle() > 0:
            job = self.store.claim_next_job(now())
            if job is None:
                return
            try:
                render = build_order(self.services, job)
            except Unrenderable as problem:
                self.jobs.fail(job.id, str(problem))
                continue
            self.store.append_log(job.id, [LOG_TITLE, f"PROGRESS: Job {job.id} started"])
            try:
                self.render_pool.submit(render)
            except OSError as exc:
                self.jobs.fail(job.id, f"Render failed: no worker process could be started ({exc})")
                return

    def _handle(self, event: object) -> None:
        if getattr(event, "key", "").startswith(TEMPLATE_KEY):
            self.templates.handle(event)
        else:
            self.jobs.handle(event)

    def _terminal(self, job: JobRecord) -> None:
        webhook = job.payload.get("webhook")
        if isinstance(webhook, dict):
            body = job_doc(job, self.links())
            self.webhooks.send(job.id, webhook, body, self.store.secret_values())
