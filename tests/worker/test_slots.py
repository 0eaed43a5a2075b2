"""The shared slot budget of a worker's queues: strict order, weights, idle queues (unit tests;
``tests/jobs/test_priority_order.py`` runs the same against a real server and worker)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest

from jobmodule.worker.slots import QueuePermit, QueueShare, SharedSlotSupplier, parse_queues


@dataclass
class Reserve:
    task_queue: str
    slot_type: str = "activity"
    worker_identity: str = "test"
    worker_build_id: str = ""
    worker_deployment_version: Any = None
    is_sticky: bool = False


@dataclass
class Used:
    permit: Any
    slot_info: Any = None


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def polls(supplier: SharedSlotSupplier, queue: str, count: int) -> list[asyncio.Task[Any]]:
    return [asyncio.ensure_future(supplier.reserve_slot(Reserve(queue))) for _ in range(count)]  # type: ignore[arg-type]


def granted(tasks: list[asyncio.Task[Any]]) -> list[QueuePermit]:
    return [task.result() for task in tasks if task.done()]


def supplier_for(spec: str, slots: int, clock: Clock) -> SharedSlotSupplier:
    supplier = SharedSlotSupplier(parse_queues(spec.split(",")), slots, clock=clock)
    supplier._first_ask = clock.now - 10  # past the start-up grace
    return supplier


async def test_freed_slots_go_to_the_first_queue_while_it_has_work() -> None:
    clock = Clock()
    supplier = supplier_for("hi,lo", 2, clock)
    lo = polls(supplier, "lo", 3)
    hi = polls(supplier, "hi", 3)
    await settle()
    # lo asked first and took both slots; now hi waits too. Each freed slot goes to hi.
    first = granted(lo)
    assert len(first) == 2 and not granted(hi)
    for permit in first:
        supplier.mark_slot_used(Used(permit))  # type: ignore[arg-type]
        supplier.release_slot(Used(permit))  # type: ignore[arg-type]
        await settle()
    assert len(granted(hi)) == 2 and len(granted(lo)) == 2
    for task in hi + lo:
        task.cancel()


async def test_a_lower_queue_polls_once_the_first_one_is_idle() -> None:
    clock = Clock()
    supplier = supplier_for("hi,lo", 1, clock)
    hi = polls(supplier, "hi", 2)
    await settle()
    lo = polls(supplier, "lo", 1)
    await settle()
    assert len(granted(hi)) == 1 and not granted(lo)  # hi's poll may still bring a task
    clock.now += 1.0  # hi's reservation stayed unused: its backlog is empty
    supplier._dispatch()
    await settle()
    assert len(granted(lo)) == 1 and len(granted(hi)) == 1  # idle hi gets no second slot
    for task in hi + lo:
        task.cancel()


async def test_weighted_queues_share_the_budget_in_proportion() -> None:
    clock = Clock()
    supplier = supplier_for("high:3,default:1", 4, clock)
    high = polls(supplier, "high", 10)
    default = polls(supplier, "default", 10)
    await settle()
    running = granted(high)  # high asked first and got all four
    for permit in running:
        supplier.mark_slot_used(Used(permit))  # type: ignore[arg-type]
    released: list[QueuePermit] = []
    for _ in range(4):  # as tasks finish, slots go to whoever is furthest below its share
        done = running.pop(0)
        released.append(done)
        supplier.release_slot(Used(done))  # type: ignore[arg-type]
        await settle()
        every = granted(high) + granted(default)
        fresh = [p for p in every if p not in running and p not in released]
        for permit in fresh:
            supplier.mark_slot_used(Used(permit))  # type: ignore[arg-type]
            running.append(permit)
    assert supplier.snapshot()["high"][0] == 3 and supplier.snapshot()["default"][0] == 1
    for task in high + default:
        task.cancel()


async def test_a_cancelled_poll_gives_its_slot_back() -> None:
    clock = Clock()
    supplier = supplier_for("a,b", 1, clock)
    [first] = polls(supplier, "a", 1)
    await settle()
    first.cancel()
    supplier.release_slot(Used(first.result()))  # type: ignore[arg-type]
    [second] = polls(supplier, "b", 1)
    await settle()
    assert second.done()
    second.cancel()


def test_queue_weights_parse_and_bad_ones_say_the_form() -> None:
    assert parse_queues(["high:3", "default"]) == [QueueShare("high", 3.0), QueueShare("default")]
    for bad in (["high:0"], ["high:x"], [":2"], ["a", "a"]):
        with pytest.raises(ValueError):
            parse_queues(bad)
