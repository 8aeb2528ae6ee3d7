import asyncio

import pytest

from services.common.cancellation import raise_if_cancelled


async def test_a_loop_that_swallowed_a_cancel_still_stops():
    turns = 0

    async def loop() -> None:
        nonlocal turns
        while True:
            turns += 1
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                pass  # what a caught TimeoutError standing for a cancel amounts to
            raise_if_cancelled()

    task = asyncio.get_running_loop().create_task(loop())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2.0)
    assert turns == 1


async def test_an_uncancelled_task_goes_on():
    raise_if_cancelled()  # no cancel requested: nothing happens
