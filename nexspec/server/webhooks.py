"""Webhook deliveries: on a job's terminal state, its ``webhook`` is called, with retries.

Up to ``retries`` further attempts follow a failed one (non-2xx or no connection), after
``base_delay``, then twice that, and so on. Every attempt is recorded and written to the
job's log, showing neither header values nor the URL's query string.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from nexspec.payload import JsonObject, JsonValue
from nexspec.server.interpolation import MissingSecret, substitute
from nexspec.server.stamps import now
from nexspec.server.store import Store

DELIVERY_THREADS = 4


@dataclass(frozen=True, slots=True)
class Delivery:
    job_id: str
    url: str
    method: str
    headers: tuple[tuple[str, str], ...]
    body: JsonValue


class WebhookSender:
    def __init__(self, store: Store, *, retries: int, base_delay: float, timeout: float) -> None:
        self._store = store
        self._retries = retries
        self._base_delay = base_delay
        self._timeout = timeout
        self._stopping = threading.Event()
        self._pool = ThreadPoolExecutor(DELIVERY_THREADS, thread_name_prefix="nexspec-webhook")

    def send(self, job_id: str, webhook: JsonObject, job: JsonObject, secrets: Mapping[str, str]) -> None:
        """Queue the delivery of ``webhook`` for a job now in a terminal state."""
        delivery = self._prepare(job_id, webhook, job, secrets)
        if delivery is not None and not self._stopping.is_set():
            self._pool.submit(self._deliver, delivery)

    def close(self) -> None:
        self._stopping.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _prepare(
        self, job_id: str, webhook: JsonObject, job: JsonObject, secrets: Mapping[str, str]
    ) -> Delivery | None:
        url = webhook.get("url")
        if not isinstance(url, str):
            return None
        method = str(webhook.get("method") or "POST").upper()
        data = webhook.get("data")
        if webhook.get("custom") is True:
            body: JsonValue = data if data is not None else {}
        else:
            body = {**job, "data": data} if data is not None else job
        headers = self._headers(job_id, webhook.get("headers"), secrets)
        return Delivery(job_id, url, method, headers, body)

    def _headers(
        self, job_id: str, given: JsonValue, secrets: Mapping[str, str]
    ) -> tuple[tuple[str, str], ...]:
        headers: list[tuple[str, str]] = []
        for name, value in given.items() if isinstance(given, dict) else ():
            try:
                headers.append((name, substitute(str(value), secrets)))
            except MissingSecret as missing:
                self._store.append_log(job_id, [f"WARNING: webhook header '{name}' not sent: {missing}"])
        return tuple(headers)

    def _deliver(self, delivery: Delivery) -> None:
        import httpx

        attempts = self._retries + 1
        with httpx.Client(timeout=self._timeout) as client:
            for attempt in range(1, attempts + 1):
                ok, outcome = _attempt(client, delivery)
                self._record(delivery, attempt, attempts, outcome, ok=ok)
                if ok or attempt == attempts:
                    return
                if self._stopping.wait(self._base_delay * 2 ** (attempt - 1)):
                    return

    def _record(self, delivery: Delivery, attempt: int, attempts: int, outcome: str, *, ok: bool) -> None:
        shown = delivery.url.split("?", 1)[0]
        self._store.add_delivery(delivery.job_id, attempt, now(), outcome, ok=ok)
        line = f"WEBHOOK: {delivery.method} {shown} attempt {attempt}/{attempts}: {outcome}"
        self._store.append_log(delivery.job_id, [line])


def _attempt(client: object, delivery: Delivery) -> tuple[bool, str]:
    import httpx

    assert isinstance(client, httpx.Client)
    body = None if delivery.method == "GET" else delivery.body
    try:
        response = client.request(delivery.method, delivery.url, headers=list(delivery.headers), json=body)
    except httpx.HTTPError as exc:
        return False, type(exc).__name__
    return 200 <= response.status_code < 300, f"HTTP {response.status_code}"
