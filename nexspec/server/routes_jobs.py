"""Job routes: create, join, list, get, cancel one or many, logs; and batches."""

from __future__ import annotations

from dataclasses import replace

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from nexspec.payload import JsonObject, JsonValue
from nexspec.protocol import API_PREFIX, CANCELLABLE_STATES
from nexspec.server import payloads
from nexspec.server.backend import Backend
from nexspec.server.documents import Links, batch_status_doc, creation_response, job_doc
from nexspec.server.jobs import Created
from nexspec.server.problems import ApiProblem, bad_request
from nexspec.server.records import BatchRecord, JobRecord
from nexspec.server.stamps import new_id, now
from nexspec.server.web import backend, links, read_json, reply


async def create(request: Request) -> Response:
    payload = payloads.job_payload(await read_json(request))
    server = backend(request)
    created = server.jobs.plan(payload, server.store.font_file_names(), now())
    server.jobs.save([created])
    return reply(creation_response(created.job, list(created.children), links(request)), 201)


async def join(request: Request) -> Response:
    payload = payloads.require_object(await read_json(request))
    details = payloads.join_details(payload)
    if details:
        raise bad_request("Validation failed", details)
    server = backend(request)
    created = server.jobs.plan_join(payload, server.store.font_file_names(), now())
    server.jobs.save([created])
    return reply(creation_response(created.job, list(created.children), links(request)), 201)


async def list_jobs(request: Request) -> Response:
    query, minimal = payloads.job_query(request.query_params)
    found = backend(request).store.list_jobs(query)
    here = links(request)
    return reply([job_doc(job, here, minimal=minimal) for job in found])


async def get(request: Request) -> Response:
    job = backend(request).jobs.get(request.path_params["id"])
    return reply(job_doc(job, links(request)))


async def cancel_one(request: Request) -> Response:
    job_id = payloads.check_id(request.path_params["id"], "job")
    cancelled = backend(request).jobs.cancel([job_id])
    here = links(request)
    return reply([job_doc(job, here) for job in cancelled])


async def cancel_many(request: Request) -> Response:
    ids = payloads.job_ids(await read_json(request))
    cancelled = backend(request).jobs.cancel(ids)
    here = links(request)
    return reply([job_doc(job, here) for job in cancelled])


async def logs(request: Request) -> Response:
    job_id = payloads.check_id(request.path_params["id"], "job")
    server = backend(request)
    server.jobs.get(job_id)
    lines = server.store.read_log(job_id)
    if not lines:
        raise ApiProblem(404, "Log not found: the job has not started rendering")
    headers = {
        "Content-Disposition": f'inline; filename="{job_id}.log"',
        "X-Content-Type-Options": "nosniff",
    }
    return PlainTextResponse("\n".join(lines) + "\n", headers=headers)


# --- batches -------------------------------------------------------------------------------


async def create_batch(request: Request) -> Response:
    items = payloads.batch_jobs(await read_json(request))
    body = await run_in_threadpool(_create_batch, backend(request), items, links(request))
    return reply(body, 400 if body["status"] == "error" else 201)


def _create_batch(server: Backend, items: list[JsonValue], here: Links) -> JsonObject:
    fonts, at, batch = server.store.font_file_names(), now(), BatchRecord(new_id(), now(), len(items))
    created: list[tuple[int, Created]] = []
    errors: list[JsonValue] = []
    for index, item in enumerate(items):
        try:
            plan = server.jobs.plan(payloads.job_payload(item), fonts, at)
        except ApiProblem as problem:
            errors.append({"index": index, "error": _message(problem), "errorCode": _code(problem)})
            continue
        job = replace(plan.job, batch_id=batch.id, batch_index=index)
        created.append((index, Created(job, plan.children)))
    server.jobs.save([c for _, c in created], batch)
    jobs: list[JsonValue] = [
        {**creation_response(c.job, list(c.children), here), "index": index} for index, c in created
    ]
    status = "created" if not errors else ("partial" if created else "error")
    body: JsonObject = {
        "batchId": batch.id,
        "status": status,
        "totalJobs": len(items),
        "successCount": len(created),
        "jobs": jobs,
    }
    if errors:
        body["errors"] = errors
    return body


def _message(problem: ApiProblem) -> str:
    if not problem.details:
        return problem.message
    return "; ".join(f"{d.field}: {d.message}" for d in problem.details)


def _code(problem: ApiProblem) -> str:
    if problem.code:
        return problem.code
    return {404: "TEMPLATE_NOT_FOUND"}.get(problem.status, "VALIDATION_ERROR")


def _batch(request: Request) -> tuple[BatchRecord, list[JobRecord]]:
    batch_id = payloads.check_id(request.path_params["id"], "batch")
    server = backend(request)
    batch = server.store.get_batch(batch_id)
    if batch is None:
        raise ApiProblem(404, "Batch not found")
    return batch, server.store.batch_jobs(batch_id)


async def batch_status(request: Request) -> Response:
    batch, jobs = _batch(request)
    return reply(batch_status_doc(batch, jobs, links(request)))


async def cancel_batch(request: Request) -> Response:
    batch, jobs = _batch(request)
    server = backend(request)
    cancelled = server.jobs.cancel_families([j for j in jobs if j.status in CANCELLABLE_STATES])
    done = {job.id for job in cancelled}
    here = links(request)
    results: list[JsonValue] = []
    for job in server.store.batch_jobs(batch.id):
        was = job.id in done
        results.append({
            "index": job.batch_index,
            "id": job.id,
            "result": "cancelled" if was else "skipped",
            "status": job.status,
            "reason": None if was else f"Job is {job.status}",
        })  # fmt: skip
    count = sum(1 for job in jobs if job.id in done)
    status = "unchanged" if not count else ("cancelled" if count == len(jobs) else "partial")
    return reply({
        "batchId": batch.id,
        "status": status,
        "totalJobs": len(jobs),
        "cancelledCount": count,
        "skippedCount": len(jobs) - count,
        "jobs": results,
        "cancelledJobs": [job_doc(job, here) for job in cancelled],
    })  # fmt: skip


ROUTES = [
    Route(f"{API_PREFIX}/jobs", create, methods=["POST"]),
    Route(f"{API_PREFIX}/jobs", list_jobs, methods=["GET"]),
    Route(f"{API_PREFIX}/jobs/join", join, methods=["POST"]),
    Route(f"{API_PREFIX}/jobs/cancel", cancel_many, methods=["POST"]),
    Route(f"{API_PREFIX}/jobs/{{id}}", get, methods=["GET"]),
    Route(f"{API_PREFIX}/jobs/{{id}}/cancel", cancel_one, methods=["PATCH"]),
    Route(f"{API_PREFIX}/jobs/{{id}}/logs", logs, methods=["GET"]),
    Route(f"{API_PREFIX}/batches", create_batch, methods=["POST"]),
    Route(f"{API_PREFIX}/batches/{{id}}", batch_status, methods=["GET"]),
    Route(f"{API_PREFIX}/batches/{{id}}/cancel", cancel_batch, methods=["POST"]),
]
