"""The loop the suite's async tests run on (tests/conftest.py): uvloop, as `clinicflow serve`
and `clinicflow worker` run in production, unless a test is marked as being about asyncio's
own loop."""

from __future__ import annotations

import asyncio

import pytest
import uvloop


async def test_an_async_test_runs_on_uvloop_as_the_servers_and_workers_do() -> None:
    assert isinstance(asyncio.get_running_loop(), uvloop.Loop)


@pytest.mark.asyncio_loop
async def test_a_test_about_asyncios_own_loop_gets_it() -> None:
    loop = asyncio.get_running_loop()
    assert not isinstance(loop, uvloop.Loop)
    assert isinstance(loop, asyncio.BaseEventLoop)
