"""Open-loop load for bench/run.py: latency at a fixed offered rate, and memory with many
connections open (issue 18, items 2 and 4).

wrk keeps a fixed number of connections busy (a closed loop): when the server slows down,
wrk sends less and the slow answers hide (coordinated omission). Here request ``i`` is due at
``start + i / rate`` whatever happened before, and its latency is measured from that due
time, so a queue building up in the server shows in the percentiles. aiohttp on uvloop, one
process; pin it to its own core with taskset.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import statistics
import time
from typing import Any

import aiohttp

PAY_FORM = {
    "quantity": "1",
    "email": "bench@example.com",
    "name": "Bench Buyer",
    "line1": "1 Main St",
    "city": "Oslo",
    "postal_code": "0150",
    "country": "Norway",
    "card_number": "4242424242424242",
    "card_expiry": "12/34",
    "card_cvc": "123",
}
_tag = f"{os.getpid()}x{random.randrange(10**9)}"
_count = itertools.count()


def pay_form() -> dict[str, str]:
    """The checkout form with a fresh attempt key: every POST is a new paid order."""
    return {"attempt": f"load{_tag}x{next(_count)}xxxxxxxx", **PAY_FORM}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


async def _open_loop(url: str, rate: float, seconds: float, connections: int) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=connections)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:

        async def one(due: float) -> None:
            try:
                async with client.post(url, data=pay_form(), allow_redirects=False) as answer:
                    await answer.read()
                    statuses[answer.status] = statuses.get(answer.status, 0) + 1
            except (aiohttp.ClientError, TimeoutError):
                statuses[0] = statuses.get(0, 0) + 1
            latencies.append(time.perf_counter() - due)

        start = time.perf_counter()
        total = int(rate * seconds)
        tasks = []
        for i in range(total):
            due = start + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                await asyncio.sleep(pause)
            tasks.append(asyncio.create_task(one(due)))
        sent = time.perf_counter() - start
        # An overloaded server: wait for the queue as long as the run lasted, then stop
        # (what is still unanswered counts as unanswered, its latency at least that long).
        _, late = await asyncio.wait(tasks, timeout=seconds)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        elapsed = time.perf_counter() - start
        latencies.extend([elapsed - sent] * len(late))  # a lower bound for each
        if late:
            statuses[-1] = len(late)
    ms = [x * 1000 for x in latencies]
    return {
        "offered_per_s": rate,
        "sent_per_s": total / sent,
        "answered_per_s": (total - len(late)) / elapsed,
        "unanswered": len(late),
        "p50_ms": percentile(ms, 0.50),
        "p90_ms": percentile(ms, 0.90),
        "p99_ms": percentile(ms, 0.99),
        "max_ms": max(ms, default=0.0),
        "mean_ms": statistics.fmean(ms) if ms else 0.0,
        "statuses": statuses,
    }


def open_loop(url: str, rate: float, seconds: float, connections: int = 256) -> dict[str, Any]:
    """POST the checkout form to ``url`` at ``rate`` a second for ``seconds``."""
    return asyncio.run(_open_loop(url, rate, seconds, connections))


async def _many(page: str, seconds: float, connections: int, rss: Any) -> dict[str, Any]:
    """``connections`` clients at once, each on its own connection, in a loop: three in four
    open the checkout page, one in four pays. ``rss()`` is sampled every 100 ms."""
    connector = aiohttp.TCPConnector(limit=connections, force_close=False)
    done: dict[str, int] = {"page": 0, "pay": 0, "failed": 0}
    peak: dict[int, float] = {}
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
        stop = time.perf_counter() + seconds

        async def shopper(n: int) -> None:
            for turn in itertools.count(n):
                if time.perf_counter() > stop:
                    return
                try:
                    if turn % 4 == 3:
                        async with client.post(page, data=pay_form(), allow_redirects=False) as a:
                            await a.read()
                            done["pay" if a.status == 303 else "failed"] += 1
                    else:
                        async with client.get(page) as a:
                            await a.read()
                            done["page" if a.status == 200 else "failed"] += 1
                except (aiohttp.ClientError, TimeoutError):
                    done["failed"] += 1

        async def sample() -> None:
            while time.perf_counter() < stop:
                for pid, mb in rss().items():
                    peak[pid] = max(peak.get(pid, 0.0), mb)
                await asyncio.sleep(0.1)

        await asyncio.gather(sample(), *(shopper(n) for n in range(connections)))
        open_now = len(connector._conns) if hasattr(connector, "_conns") else None
    return {
        "connections": connections,
        "seconds": seconds,
        **done,
        "peak_rss_mb_per_process": sorted(peak.values(), reverse=True),
        "pooled_connections_at_end": open_now,
    }


def many_connections(page: str, seconds: float, connections: int, rss: Any) -> dict[str, Any]:
    return asyncio.run(_many(page, seconds, connections, rss))
