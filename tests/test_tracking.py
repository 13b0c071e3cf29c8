"""Tracking rounds: how many requests a round makes (counted by a real local backend), and the
interval between rounds (with a fake clock).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from server.lottie_docs import lottie_bytes
from uploads import uploaded_template

from nexspec.client import ApiClient
from nexspec.lock import BackendLock, JobEntry, JobStatus, TemplateEntry
from nexspec.server.embedded import EmbeddedServer
from nexspec.tracking import PollPolicy, Tracked, now_iso, poll_round, round_budget, snapshot, wait_rounds

Counts = Callable[[EmbeddedServer], dict[str, int]]
UNKNOWN_ID = "01J0000000000000000000000Z"
LISTING = "GET /api/v2/jobs"
SINGLE = "GET /api/v2/jobs/{id}"


# --- the interval between rounds ------------------------------------------------------------------


def test_the_interval_backs_off_while_nothing_changes_and_resets_on_a_change() -> None:
    changes = iter([False, False, False, True, False, False, False, False, False, False])
    rounds: list[bool] = []
    sleeps: list[float] = []

    def round_() -> bool:
        rounds.append(next(changes))
        return rounds[-1]

    finished = wait_rounds(
        round_,
        done=lambda: len(rounds) == 10,
        policy=PollPolicy(initial=1.0, maximum=4.0, factor=2.0),
        sleep=sleeps.append,
        clock=lambda: 0.0,
    )
    assert finished is True
    assert sleeps == [2.0, 4.0, 4.0, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0]


def test_the_deadline_ends_the_wait_and_is_never_overslept() -> None:
    now = [0.0]
    sleeps: list[float] = []
    rounds: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    def round_() -> bool:
        rounds.append(now[0])
        return False

    finished = wait_rounds(
        round_,
        done=lambda: False,
        policy=PollPolicy(initial=1.0, maximum=10.0, factor=2.0),
        deadline=5.0,
        sleep=sleep,
        clock=lambda: now[0],
    )
    assert finished is False
    assert (rounds, sleeps) == ([0.0, 2.0], [2.0, 3.0])


def test_nothing_to_wait_for_is_no_round_at_all() -> None:
    def round_() -> bool:
        raise AssertionError("no round expected")

    assert wait_rounds(round_, done=lambda: True, sleep=lambda s: None) is True


@pytest.mark.parametrize(("jobs", "budget"), [(1, 2), (999, 2), (1000, 2), (1001, 3), (2500, 4)])
def test_the_budget_of_a_round(jobs: int, budget: int) -> None:
    assert round_budget(jobs) == budget


# --- requests per round, counted by the server ------------------------------------------------------


@pytest.fixture(scope="module")
def template_id(local_server: EmbeddedServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    source = tmp_path_factory.mktemp("tracking") / "promo.json"
    source.write_bytes(lottie_bytes())
    with ApiClient.connect(local_server.base_url, local_server.token) as client:
        return uploaded_template(client, source, "tracking")


@pytest.fixture
def client(local_server: EmbeddedServer) -> Iterator[ApiClient]:
    with ApiClient.connect(local_server.base_url, local_server.token) as api:
        yield api


def new_tag() -> str:
    return "nxs-p-" + uuid.uuid4().hex[:16]


def submit(client: ApiClient, template_id: str, count: int, *tags: str) -> list[Tracked]:
    payload = {"template": {"id": template_id, "composition": "main"}, "tags": list(tags)}
    items = client.create_batch([payload] * count)
    at = now_iso()
    return [Tracked(f"job-{item.index}", item.job.id, at) for item in items if item.job is not None]


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {
        k: after.get(k, 0) - before.get(k, 0) for k in (LISTING, SINGLE) if after.get(k, 0) - before.get(k, 0)
    }


def test_one_listing_reports_every_tracked_job(
    local_server: EmbeddedServer, client: ApiClient, template_id: str, request_counts: Counts
) -> None:
    tag = new_tag()
    tracked = submit(client, template_id, 5, tag)
    before = request_counts(local_server)
    seen = poll_round(client, tag, tracked, budget=round_budget(len(tracked)))
    assert delta(before, request_counts(local_server)) == {LISTING: 1}
    assert set(seen) == {job.id for job in tracked}
    assert all(remote is not None and remote.id == job_id for job_id, remote in seen.items())


def test_a_job_the_listing_misses_is_fetched_on_its_own(
    local_server: EmbeddedServer, client: ApiClient, template_id: str, request_counts: Counts
) -> None:
    tag = new_tag()
    untagged = submit(client, template_id, 1)
    before = request_counts(local_server)
    seen = poll_round(client, tag, untagged, budget=round_budget(1))
    assert delta(before, request_counts(local_server)) == {LISTING: 1, SINGLE: 1}
    remote = seen[untagged[0].id]
    assert remote is not None and remote.id == untagged[0].id


def test_a_job_the_backend_no_longer_knows_is_none(
    local_server: EmbeddedServer, client: ApiClient, request_counts: Counts
) -> None:
    before = request_counts(local_server)
    seen = poll_round(client, new_tag(), [Tracked("gone", UNKNOWN_ID, now_iso())], budget=2)
    assert seen == {UNKNOWN_ID: None}
    assert delta(before, request_counts(local_server)) == {LISTING: 1, SINGLE: 1}


def test_a_round_never_exceeds_its_budget_and_jobs_left_out_take_turns(
    local_server: EmbeddedServer, client: ApiClient, template_id: str, request_counts: Counts
) -> None:
    tag = new_tag()
    untagged = submit(client, template_id, 3)  # the project's listing shows none of them
    observed: list[set[str]] = []
    for turn in range(3):
        before = request_counts(local_server)
        seen = poll_round(client, tag, untagged, budget=2, turn=turn)
        assert delta(before, request_counts(local_server)) == {LISTING: 1, SINGLE: 1}
        observed.append(set(seen))
    assert [len(ids) for ids in observed] == [1, 1, 1]
    assert set.union(*observed) == {job.id for job in untagged}


def test_many_other_jobs_of_the_project_do_not_push_a_round_over_its_budget(
    local_server: EmbeddedServer, client: ApiClient, template_id: str, request_counts: Counts
) -> None:
    """A tracked job, 2,000 more jobs of the project, then another tracked job."""
    tag = new_tag()
    older = submit(client, template_id, 1, tag)
    payload = {"template": {"id": template_id, "composition": "main"}, "tags": [tag], "priority": -1}
    with httpx.Client(
        base_url=local_server.base_url, headers={"Authorization": f"Bearer {local_server.token}"}, timeout=60
    ) as http:
        for _ in range(2):
            batch = http.post("/batches", json={"jobs": [payload] * 1000})
            assert batch.status_code == 201, batch.text
            cancelled = http.post(f"/batches/{batch.json()['batchId']}/cancel")
            assert cancelled.status_code == 200, cancelled.text
    newer = submit(client, template_id, 1, tag)

    before = request_counts(local_server)
    seen = poll_round(client, tag, newer, budget=round_budget(1))
    assert delta(before, request_counts(local_server)) == {LISTING: 1}  # the newest come first
    assert seen[newer[0].id] is not None

    for budget in (round_budget(1), None):  # a tracking round, and a snapshot for `status`
        before = request_counts(local_server)
        seen = poll_round(client, tag, older, budget=budget)
        assert delta(before, request_counts(local_server)) == {LISTING: 1, SINGLE: 1}
        assert seen[older[0].id] is not None


def test_snapshot_looks_at_every_template_and_job_of_the_lock(
    local_server: EmbeddedServer, client: ApiClient, template_id: str, tmp_path: Path
) -> None:
    tag = new_tag()
    tracked = submit(client, template_id, 2, tag) + submit(client, template_id, 2)
    lock = BackendLock(
        project_tag=tag,
        templates={
            "promo": TemplateEntry("sha256:x", template_id, "lottie", "uploaded"),
            "gone": TemplateEntry("sha256:y", UNKNOWN_ID, "lottie", "uploaded"),
        },
        jobs={
            job.name + str(i): JobEntry("sha256:f", "promo", JobStatus.QUEUED, "t", id=job.id)
            for i, job in enumerate(tracked)
        },
    )
    remote = snapshot(client, lock)
    assert set(remote.jobs) == {job.id for job in tracked}
    assert all(job is not None for job in remote.jobs.values())
    promo = remote.templates[template_id]
    assert promo is not None and promo.status == "uploaded"
    assert remote.templates[UNKNOWN_ID] is None
