from __future__ import annotations

import anyio
import pytest

from mock_server._clock import VirtualClock, iso8601


def test_frozen_clock_only_moves_when_advanced() -> None:
    clock = VirtualClock(time_scale=0, start=1000.0)
    assert clock.now() == 1000.0
    assert clock.advance(30) == 1030.0
    assert clock.now() == 1030.0


def test_scaled_clock_runs_faster_than_real_time() -> None:
    clock = VirtualClock(time_scale=1000, start=0.0)
    first = clock.now()
    while clock.now() == first:
        pass
    assert clock.now() > first


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_bad_time_scale_is_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="time scale"):
        VirtualClock(time_scale=bad)


def test_the_clock_never_goes_back() -> None:
    clock = VirtualClock(time_scale=0, start=0.0)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-5)


def test_reset_goes_back_to_the_start() -> None:
    clock = VirtualClock(time_scale=0, start=50.0)
    clock.advance(100)
    clock.reset(start=50.0)
    assert clock.now() == 50.0


def test_iso8601_is_utc_with_z() -> None:
    assert iso8601(1773360000.0) == "2026-03-13T00:00:00Z"


@pytest.mark.anyio
async def test_a_sleeper_on_a_frozen_clock_wakes_at_once_when_the_clock_jumps_past_its_deadline() -> None:
    clock = VirtualClock(time_scale=0, start=0.0)
    woke: list[float] = []

    async def sleeper() -> None:
        await clock.sleep_until(100.0)
        woke.append(clock.now())

    async with anyio.create_task_group() as tg:
        tg.start_soon(sleeper)
        await anyio.sleep(0.01)
        clock.advance(50)  # not yet
        await anyio.sleep(0.01)
        assert woke == []
        clock.advance(60)
    assert woke == [110.0]


@pytest.mark.anyio
async def test_a_sleeper_on_a_running_clock_wakes_by_itself() -> None:
    clock = VirtualClock(time_scale=10_000, start=0.0)
    with anyio.fail_after(5):
        await clock.sleep(100)  # 10 ms of real time
    assert clock.now() >= 100


def test_the_clock_saturates_at_the_last_printable_moment() -> None:
    clock = VirtualClock(time_scale=0, start=0.0)
    clock.advance(1e300)
    assert iso8601(clock.now()) == "9999-12-31T23:59:59Z"
    clock.advance(5)
    assert iso8601(clock.now()) == "9999-12-31T23:59:59Z"


@pytest.mark.anyio
async def test_a_cancelled_sleeper_leaves_nothing_behind() -> None:
    # 100 virtual seconds at 1e-300 are 1e302 real seconds: the event loop's timer takes it.
    clock = VirtualClock(time_scale=1e-300, start=0.0)
    with anyio.move_on_after(0.05) as scope:
        await clock.sleep_until(100.0)
    assert scope.cancelled_caught
    assert clock.next_deadline() is None, "a cancelled sleeper leaves no deadline behind"


@pytest.mark.anyio
async def test_wake_lets_every_sleeper_look_at_its_stop_condition_again() -> None:
    clock = VirtualClock(time_scale=0, start=0.0)
    stopping = False
    results: list[bool] = []

    async def sleeper() -> None:
        results.append(await clock.sleep_until(100.0, stop=lambda: stopping))

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(sleeper)
            await anyio.sleep(0.01)
            assert clock.next_deadline() == 100.0
            stopping = True
            clock.wake()
    assert results == [False, False, False]
    assert clock.next_deadline() is None
