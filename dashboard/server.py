"""`paywatch dashboard`: the live web page's server (aiohttp), reading only the Redis live view.

Routes: ``/`` (the first province's overview), ``/p/{code}`` (a province), ``/d/{code}`` (a
district), ``/u/{code}`` (a unit's year) all serve the same page; it asks
``/api/view/{kind}/{code}?year=`` for a snapshot of its view and keeps it current from
``/api/events/{kind}/{code}/{year}`` (Server-Sent Events, fed by the process's one
:class:`~dashboard.feed.ChangeFeed`). ``/healthz`` answers whether Redis does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Final

from aiohttp import web
from redis.exceptions import RedisError

from dashboard.feed import RESET, ChangeFeed, sse
from dashboard.views import SPARK_DAYS, Kind, View, ViewError, default_kind, plan_view
from models.kpi import TREND_THRESHOLD
from models.periods import VN_TZ, period_kind
from models.registry import Registry
from models.targets import Targets
from sinks.live_reader import stream_id_after

__all__ = ["DashboardConfig", "make_app", "run_dashboard"]

log = logging.getLogger(__name__)

STATIC: Final = Path(__file__).resolve().parent / "static"
KEEP_ALIVE_S: Final = 15.0
_FEED: Final = web.AppKey("feed", ChangeFeed)


@dataclass(frozen=True)
class DashboardConfig:
    host: str
    port: int
    redis_url: str
    prefix: str
    registry: Registry
    targets: Targets | None
    province: str  # the overview `/` opens
    stale_after_s: float
    pinned_day: date | None = None  # PAYWATCH_CURRENT_DAY


_CONFIG: Final = web.AppKey("config", DashboardConfig)


async def _page(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


async def _home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(f"/p/{request.app[_CONFIG].province}")


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _kind(request: web.Request) -> Kind:
    try:
        return Kind(request.match_info["kind"])
    except ValueError:
        raise web.HTTPNotFound(text=f"no view kind {request.match_info['kind']!r}") from None


async def _current_year(
    feed: ChangeFeed, code: str, periods: list[str], pinned: date | None
) -> str:
    """The year a page opens on: the current day's (models/event_clock.py, as `paywatch
    status` and the worker's gauges judge it), so one outlier payment does not switch it."""
    today = datetime.now(VN_TZ).date()
    return await feed.reader.current_year(code, today, pinned, periods) or str(today.year)


async def _view(request: web.Request) -> web.Response:
    config, feed = request.app[_CONFIG], request.app[_FEED]
    code = request.match_info["code"]
    kind = _kind(request)
    cursor = feed.cursor()  # before the reads: a change after it is sent again, never lost
    try:
        head_periods = (await feed.reader.periods([code]))[code]
        years = sorted({p for p in head_periods if period_kind(p) == "year"})
        year = request.query.get("year") or await _current_year(
            feed, code, head_periods, config.pinned_day
        )
        view = plan_view(config.registry, config.targets, kind, code, year)
        periods = await feed.reader.periods([u.code for u in view.units])
        wanted = view.wanted(periods)
        rows = await feed.reader.rows(wanted)
    except ViewError as exc:
        return _error(404, str(exc))
    except (TimeoutError, RedisError, OSError) as exc:
        return _error(503, f"cannot read the live view from Redis ({type(exc).__name__})")
    return web.json_response(
        {
            "kind": view.kind.value,
            "year": view.year,
            "years": years,
            "head": view.head.as_dict(),
            "units": [u.as_dict() for u in view.units],
            "ancestors": [u.as_dict() for u in view.ancestors],
            "rows": [[u, p, f] for (u, p, _), f in zip(wanted, rows, strict=True) if f],
            "cursor": cursor,
            "status": feed.status(),
            "spark_days": SPARK_DAYS,
            "trend_threshold": TREND_THRESHOLD,
            "default_kind": {u.code: default_kind(u.level).value for u in view.units},
        },
        headers={"Cache-Control": "no-store"},
    )


async def _events(request: web.Request) -> web.StreamResponse:
    config, feed = request.app[_CONFIG], request.app[_FEED]
    try:
        view: View = plan_view(
            config.registry,
            config.targets,
            _kind(request),
            request.match_info["code"],
            request.match_info["year"],
        )
    except ViewError as exc:
        return _error(404, str(exc))
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    sub = feed.subscribe(view)
    try:
        await response.write(b"retry: 1000\n\n")
        since = request.headers.get("Last-Event-ID") or request.query.get("since", "")
        try:
            caught = await feed.catch_up(view, since)
        except (TimeoutError, RedisError, OSError):
            await response.write(sse("status", {**feed.status(), "redis": False, "stale": True}))
            return response  # the page reconnects in a second
        if caught is None:
            await response.write(RESET)
            return response
        caught_up, missed = caught
        if missed is not None:
            await response.write(missed)
        await response.write(sse("status", feed.status()))
        while not sub.dropped:
            try:
                stream_id, payload = await asyncio.wait_for(sub.queue.get(), KEEP_ALIVE_S)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if not payload:
                break  # the server stops
            if stream_id is not None and not stream_id_after(stream_id, caught_up):
                continue  # already sent by the catch-up
            await response.write(payload)
            if payload is RESET:
                break  # the page fetches its view and opens a new stream
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        feed.unsubscribe(sub)
    return response


async def _health(request: web.Request) -> web.Response:
    feed = request.app[_FEED]
    status = feed.status()
    return web.json_response(
        {**status, "pages": feed.pages, "cursor": feed.cursor()},
        status=200 if feed.redis_ok else 503,
    )


def make_app(config: DashboardConfig, feed: ChangeFeed | None = None) -> web.Application:
    app = web.Application()
    app[_CONFIG] = config
    app[_FEED] = feed or ChangeFeed(
        config.redis_url, config.prefix, stale_after_s=config.stale_after_s
    )
    app.router.add_get("/", _home)
    for prefix in ("p", "d", "u"):
        app.router.add_get(f"/{prefix}/{{code}}", _page)
    app.router.add_get("/api/view/{kind}/{code}", _view)
    app.router.add_get("/api/events/{kind}/{code}/{year}", _events)
    app.router.add_get("/healthz", _health)
    app.router.add_static("/static", STATIC, append_version=False)

    async def start_feed(app: web.Application) -> None:
        await app[_FEED].start()

    async def end_pages(app: web.Application) -> None:
        app[_FEED].end_pages()

    async def stop_feed(app: web.Application) -> None:
        await app[_FEED].stop()

    app.on_startup.append(start_feed)
    app.on_shutdown.append(end_pages)
    app.on_cleanup.append(stop_feed)
    return app


def run_dashboard(config: DashboardConfig) -> None:
    """Serve until SIGINT or SIGTERM."""

    async def main() -> None:
        runner = web.AppRunner(make_app(config), shutdown_timeout=2.0, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, config.host, config.port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise SystemExit(
                f"paywatch dashboard: cannot listen on {config.host}:{config.port} "
                f"({exc.strerror or exc}); free the port or set PAYWATCH_DASHBOARD_PORT"
            ) from None
        print(f"paywatch dashboard on http://{config.host}:{config.port}/", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            with contextlib.suppress(Exception):
                await runner.cleanup()

    asyncio.run(main())
