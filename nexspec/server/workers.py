"""Worker processes and the dispatcher thread that feeds them.

Each worker is a process with its own pipe, holding at most one order; the dispatcher waits
on every pipe, every worker's exit and a wake-up socket, hands events to the backend and
asks it to fill idle workers. Processes start with ``forkserver`` (``spawn`` where that is
missing), never by forking the threaded server, and are ended on ``stop``.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import multiprocessing
import signal
import socket
import threading
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any, Protocol

from nexspec.server.orders import Done, Failed, describe_failure

log = logging.getLogger("nexspec.server")
STOP_TIMEOUT = 5.0


class Order(Protocol):
    @property
    def key(self) -> str: ...

    def run(self, emit: Callable[[object], None]) -> object: ...


def worker_main(conn: Connection) -> None:
    """A worker's life: run orders from the pipe until it closes."""
    # Ctrl-C reaches the whole process group; only the server decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            order = conn.recv()
        except (EOFError, OSError):
            return
        if order is None:
            return
        try:
            conn.send(Done(order.key, order.run(conn.send)))
        except Exception as exc:  # a failed order must never end the worker
            trace = () if _expected(exc) else tuple(traceback.format_exc().splitlines())
            conn.send(Failed(order.key, describe_failure(exc), trace))


def _expected(error: BaseException) -> bool:
    from nexspec.errors import NexspecError

    return isinstance(error, NexspecError)


def pool_context(start_method: str | None = None) -> BaseContext:
    methods = multiprocessing.get_all_start_methods()
    method = start_method or ("forkserver" if "forkserver" in methods else "spawn")
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        # Every fork then starts with the render stack's light modules already imported.
        context.set_forkserver_preload(["nexspec.server.orders"])
    return context


@dataclass(slots=True)
class _Worker:
    process: BaseProcess
    conn: Connection
    order: str | None = None


@dataclass(slots=True)
class WorkerPool:
    """Up to ``size`` processes, started when first needed."""

    name: str
    size: int
    context: BaseContext
    crash: str = "Render failed"  # how an order whose worker died is reported
    workers: list[_Worker] = field(default_factory=list)

    def idle(self) -> int:
        return self.size - sum(1 for w in self.workers if w.order is not None)

    def submit(self, order: Order) -> None:
        worker = next((w for w in self.workers if w.order is None), None) or self._start()
        worker.conn.send(order)
        worker.order = order.key

    def _start(self) -> _Worker:
        parent, child = self.context.Pipe()
        process = self.context.Process(  # type: ignore[attr-defined]
            target=worker_main, args=(child,), name=f"nexspec-{self.name}", daemon=True
        )
        process.start()
        child.close()
        worker = _Worker(process, parent)
        self.workers.append(worker)
        return worker

    def waitables(self) -> list[Any]:
        return [x for w in self.workers for x in (w.conn, w.process.sentinel)]

    def collect(self, ready: set[Any]) -> list[object]:
        """Events from workers that are ready; a worker that died fails its order."""
        events: list[object] = []
        for worker in list(self.workers):
            if worker.conn in ready:
                events += self._read(worker)
            if worker.process.sentinel in ready and not worker.process.is_alive():
                events += self._bury(worker)
        return events

    def _read(self, worker: _Worker) -> list[object]:
        events: list[object] = []
        try:
            while worker.conn.poll():
                event = worker.conn.recv()
                if isinstance(event, Done | Failed):
                    worker.order = None
                events.append(event)
        except (EOFError, OSError):
            pass
        return events

    def _bury(self, worker: _Worker) -> list[object]:
        self.workers.remove(worker)
        worker.conn.close()
        if worker.order is None:
            return []
        code = worker.process.exitcode
        return [Failed(worker.order, f"{self.crash}: the worker process exited with code {code}")]

    def stop(self) -> None:
        for worker in self.workers:
            if worker.order is None:
                with contextlib.suppress(OSError):
                    worker.conn.send(None)
            else:
                worker.process.terminate()
        for worker in self.workers:
            worker.process.join(STOP_TIMEOUT)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()
        self.workers.clear()


class Dispatcher:
    """The one thread that talks to worker pools; other threads only ``wake`` it."""

    def __init__(
        self,
        pools: Sequence[WorkerPool],
        handle: Callable[[object], None],
        schedule: Callable[[], None],
    ) -> None:
        self.pools = tuple(pools)
        self._handle = handle
        self._schedule = schedule
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="nexspec-dispatcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        # A full socket means a wake-up is already pending.
        with contextlib.suppress(OSError):
            self._wake_write.send(b"\0")

    def stop(self) -> None:
        self._stopping.set()
        self.wake()
        self._thread.join()
        for pool in self.pools:
            pool.stop()
        self._wake_read.close()
        self._wake_write.close()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._guarded(self._schedule)
            waitables: list[Any] = [self._wake_read]
            for pool in self.pools:
                waitables += pool.waitables()
            ready = set(wait(waitables, timeout=1.0))
            if self._wake_read in ready:
                self._drain()
            for pool in self.pools:
                for event in pool.collect(ready):
                    self._guarded(functools.partial(self._handle, event))

    def _drain(self) -> None:
        try:
            while self._wake_read.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _guarded(self, call: Callable[[], None]) -> None:
        if self._stopping.is_set():
            return
        try:
            call()
        except Exception:  # the dispatcher must outlive any one bad event
            log.exception("nexspec dispatcher: unexpected error")


def alive(pools: Iterable[WorkerPool]) -> int:
    return sum(1 for pool in pools for w in pool.workers if w.process.is_alive())
