"""The audit recorder: group commit, a failed write fails every request of its batch."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tappass.audit.recorder import AuditRecorder
from tappass.errors import StorageError


class Store:
    """Records each append; the first `fail` appends raise `error`; `gate` holds a write."""

    def __init__(self, fail: int = 0, error: Exception | None = None) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.fail = fail
        self.error = error or StorageError("disk full")
        self.gate: asyncio.Event | None = None

    async def append_audit(self, events: list[dict[str, Any]]) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            self.fail -= 1
            raise self.error
        self.batches.append(list(events))

    async def update_audit(self, events: list[dict[str, Any]]) -> None:
        self.batches.append([{**e, "updated": True} for e in events])


def event(n: int) -> dict[str, Any]:
    return {"id": f"ae_{n}"}


async def test_record_returns_once_written_and_concurrent_requests_share_a_commit() -> None:
    store = Store()
    recorder = AuditRecorder(store)  # type: ignore[arg-type]
    recorder.start()
    await recorder.record(event(0))
    assert store.batches == [[event(0)]]
    store.gate = asyncio.Event()
    first = asyncio.ensure_future(recorder.record(event(1)))
    await asyncio.sleep(0)  # the writer takes event 1 and waits on the store
    rest = [asyncio.ensure_future(recorder.record(event(n))) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    assert recorder.queued == 3 and not first.done()
    store.gate.set()
    await asyncio.gather(first, *rest)
    assert store.batches[1:] == [[event(1)], [event(2), event(3), event(4)]]
    assert (recorder.written, recorder.batches, recorder.failed) == (5, 3, 0)
    await recorder.close()


async def test_complete_replaces_through_the_same_writer_and_never_appends() -> None:
    store = Store()
    recorder = AuditRecorder(store)  # type: ignore[arg-type]
    recorder.start()
    await recorder.record(event(1))
    await recorder.complete({**event(1), "status": "allowed"})
    assert store.batches == [[event(1)], [{**event(1), "status": "allowed", "updated": True}]]
    assert (recorder.written, recorder.batches) == (2, 2)
    await recorder.close()


async def test_batches_are_capped_at_batch_max() -> None:
    store = Store()
    recorder = AuditRecorder(store, batch_max=2)  # type: ignore[arg-type]
    recorder.start()
    await asyncio.gather(*(recorder.record(event(n)) for n in range(5)))
    assert [len(batch) for batch in store.batches] == [2, 2, 1]
    await recorder.close()


async def test_a_failed_write_fails_every_request_of_the_batch_then_recovers(
        caplog: pytest.LogCaptureFixture) -> None:
    store = Store(fail=1)
    recorder = AuditRecorder(store)  # type: ignore[arg-type]
    recorder.start()
    results = await asyncio.gather(*(recorder.record(event(n)) for n in range(3)),
                                   return_exceptions=True)
    assert all(isinstance(r, StorageError) and str(r) == "disk full" for r in results)
    assert (recorder.failed, recorder.written, recorder.batches) == (3, 0, 0)
    assert [r.getMessage() for r in caplog.records] == ["audit write of 3 events failed: disk full"]
    store.fail = 1
    with pytest.raises(StorageError):
        await recorder.record(event(8))
    assert recorder.failed == 4  # counted over all failed writes
    await recorder.record(event(9))
    assert store.batches == [[event(9)]] and recorder.written == 1
    assert recorder.running
    await recorder.close()


async def test_any_store_error_reaches_the_caller_as_storage_error() -> None:
    recorder = AuditRecorder(Store(fail=1, error=OSError("I/O error")))  # type: ignore[arg-type]
    recorder.start()
    with pytest.raises(StorageError, match="^I/O error$"):
        await recorder.record(event(1))
    await recorder.close()


async def test_close_writes_what_is_queued_then_refuses() -> None:
    store = Store()
    recorder = AuditRecorder(store)  # type: ignore[arg-type]
    with pytest.raises(StorageError, match="^audit writer is not running$"):
        await recorder.record(event(0))  # not started
    assert not recorder.running
    recorder.start()
    assert recorder.running
    pending = [asyncio.ensure_future(recorder.record(event(n))) for n in range(3)]
    await asyncio.sleep(0)
    await recorder.close()
    assert store.batches == [[event(0), event(1), event(2)]]  # written before close returns
    await asyncio.gather(*pending)
    assert not recorder.running
    with pytest.raises(StorageError, match="audit writer is not running"):
        await recorder.record(event(4))
    await recorder.close()  # twice is fine


async def test_a_storage_error_reaches_the_caller_as_raised() -> None:
    raised = StorageError("SQLite database is locked")
    recorder = AuditRecorder(Store(fail=1, error=raised))  # type: ignore[arg-type]
    recorder.start()
    with pytest.raises(StorageError) as info:
        await recorder.record(event(1))
    assert info.value is raised
    await recorder.close()


class ProbedStore(Store):
    """A store whose appends fail until `healthy`; probes fail or hang (`hang`) likewise."""

    def __init__(self) -> None:
        super().__init__(fail=1_000_000)
        self.probes = 0
        self.hang: asyncio.Event | None = None

    async def probe_audit_write(self) -> None:
        self.probes += 1
        if self.hang is not None:
            await self.hang.wait()
        if self.fail:
            raise StorageError("disk still full")


class Clock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def monotonic(self) -> float:
        return self.now


async def failing_recorder(store: ProbedStore, **options: float) -> AuditRecorder:
    recorder = AuditRecorder(store, **options)  # type: ignore[arg-type]
    recorder.start()
    with pytest.raises(StorageError):
        await recorder.record(event(1))
    assert recorder.health.failing
    return recorder


async def test_a_probe_runs_at_once_then_again_once_a_full_second_has_passed(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import tappass.audit.recorder as module
    clock = Clock(0.0)  # whatever the monotonic clock reads, the first probe is not held back
    monkeypatch.setattr(module, "time", clock)
    store = ProbedStore()
    recorder = await failing_recorder(store)
    assert not await recorder.writable(1.0) and store.probes == 1
    assert recorder.health.last_error == "disk still full"  # the probe's own error, kept
    clock.now = 0.999
    assert not await recorder.writable(1.0) and store.probes == 1
    clock.now = 1.0  # exactly the default interval after the first probe
    store.fail = 0
    began = recorder.health.failing_since
    assert began is not None
    assert await recorder.writable(1.0) and store.probes == 2
    assert not recorder.health.failing
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        f"audit writes succeed again (failing since {began.isoformat()})"]
    await recorder.close()


async def test_a_slow_probe_answers_not_writable_in_time_and_is_reused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import tappass.audit.recorder as module
    monkeypatch.setattr(module, "time", Clock())
    store = ProbedStore()
    recorder = await failing_recorder(store, probe_interval=0.0)
    store.hang = asyncio.Event()
    store.fail = 0
    assert not await asyncio.wait_for(recorder.writable(0.01), 1.0)  # gave up after 0.01 s
    assert not await asyncio.wait_for(recorder.writable(0.01), 1.0)
    assert store.probes == 1  # the second caller waited on the same probe
    store.hang.set()
    assert await recorder.writable(1.0) and store.probes == 1
    await recorder.close()


async def test_a_failing_metrics_observer_is_logged_and_never_fails_the_write(
        caplog: pytest.LogCaptureFixture) -> None:
    seen: list[int] = []

    def observer(events: list[dict[str, Any]]) -> None:
        seen.append(len(events))
        raise RuntimeError("metrics broke")

    store = Store()
    recorder = AuditRecorder(store, on_written=observer)  # type: ignore[arg-type]
    recorder.start()
    await recorder.record(event(1))
    assert store.batches == [[event(1)]] and seen == [1]
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        "observing 1 committed audit events failed"]
    await recorder.close()
