"""The console's sync controls: ``s`` switches sync on and off, ``S`` syncs now; the console's
own watch loop; attaching to a ``sync --watch`` that runs elsewhere.

:class:`SyncControl` belongs to the app. Once the service is open it looks at the state
directory once a second (:meth:`Service.monitor`, in a thread: the state store and the
config file, never the network):

- another process holds the sync lock (``railfiesta sync --watch`` under tmux or systemd):
  the console *attaches*. It starts no engine; the header, the progress per kind and the
  activity log show what that process published in the state store (:mod:`core.monitor`),
  ``s`` writes ``[sync] enabled`` (that watch pauses within a second), ``S`` asks it for a
  cycle through the store, and conflict choices made here reach it through the store too;
- nobody holds it and ``[sync] enabled`` is true: the console runs
  :meth:`Service.watch` itself in a worker, holding the lock, on ``[sync] interval``; ``s``
  off stops it after the operation in flight;
- ``S`` with no watch running: one cycle (:meth:`Service.sync`) under the lock.

A conflict choice (the conflicts screen's ``>``, ``<``, ``e``, ``D``) is stored at once; while
a watch runs with sync on (the console's own or an attached one), :meth:`SyncControl.chosen`
asks it for a cycle :data:`CHOICE_SECONDS` after the last choice (``u`` meanwhile takes one
back), so the choices apply now rather than at the next poll. With sync off, or no watch,
they wait for the next cycle (``S``).

``M`` while this console syncs (:meth:`SyncControl.migrate_next`; one engine at a time): with
no cycle in flight the own watch stops at once and the migration starts; with one in flight
(the own watch's or a one-off) the migration is queued and starts when that cycle ends. With
sync on, the own watch starts again once the migration has ended (a cycle at once). While
an attached watch runs elsewhere, ``M`` waits for it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.timer import Timer
from textual.worker import Worker

from core.errors import RailfiestaError, transient
from core.service import Service, SyncLocked
from tui.bridge import EventBridge

if TYPE_CHECKING:
    from textual.app import App

#: Seconds between two looks at the state directory.
POLL_SECONDS = 1.0
#: Seconds after the last conflict choice before a running watch is asked to apply the choices.
CHOICE_SECONDS = 2.0
#: What the console's lock file says it runs (``status``, another console, a second sync).
CONSOLE_COMMAND = "railfiesta (console)"

NONE, OWN, ONCE, ATTACHED = "none", "own", "once", "attached"


def clock_text(seconds: float) -> str:
    """``"0:07"``, ``"4:12"``, ``"1:02:03"`` (never negative)."""
    whole = max(0, int(seconds + 0.999))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def holder_name(holder: dict[str, Any]) -> str:
    """``sync --watch`` for ``railfiesta sync --watch --interval 1m``; the command otherwise."""
    command = str(holder.get("command") or "")
    if "sync" in command.split() and "--watch" in command.split():
        return "sync --watch"
    return command.removeprefix("railfiesta ") or "another process"


class SyncControl:
    """Sync on/off, sync now, the console's own watch and attaching (module docstring).

    ``app`` runs the workers and timers; ``service`` is the app's (open) service; ``bridge``
    takes log lines; ``changed`` is called after every change of what the header shows;
    ``down`` returns the reason a needed server is down ("" when both are usable);
    ``busy`` returns True while a migration runs.
    """

    def __init__(
        self,
        app: App[Any],
        service: Service,
        bridge: EventBridge,
        *,
        changed: Callable[[], None],
        down: Callable[[], str],
        busy: Callable[[], bool],
    ) -> None:
        self.app = app
        self.service = service
        self.bridge = bridge
        self._changed = changed
        self._down = down
        self._busy = busy
        self.mode = NONE
        self.enabled = service.config.sync.enabled
        #: the last state-directory snapshot (:meth:`Service.monitor`)
        self.snapshot: dict[str, Any] = {}
        self.holder: dict[str, Any] | None = None
        self._worker: Worker[None] | None = None
        self._polling = False
        self._started = False
        self._stop_own = False
        #: the own watch ended on an error that a retry does not fix: wait for the user
        self._gave_up = False
        #: bumped by every write of [sync] enabled: a look begun before it is stale
        self._generation = 0
        self._seen_log: tuple[float, str] | None = None
        self._cycles_seen: dict[str, float] = {}
        self._choice_timer: Timer | None = None
        #: called when an attached watch finished a cycle or shows progress (panes reload)
        self.on_news: Callable[[bool], None] = lambda finished: None
        #: starts the migration (the app's); called when a queued ``M`` may run
        self.start_migration: Callable[[], None] = lambda: None
        #: called with the error that ended this console's cycle (logged already): the
        #: header shows the side it names as down or refused
        self.on_failure: Callable[[RailfiestaError], None] = lambda error: None
        #: ``M`` was pressed while this console synced: the migration runs when it ends
        self.migration_queued = False

    @property
    def waits_for_migration(self) -> bool:
        """Sync is on, and this console's watch waits for its migration to end before it
        starts (the header says so, which also says why S cannot run now)."""
        return self.mode not in (OWN, ATTACHED) and self.enabled and self._busy()

    @property
    def holder_label(self) -> str:
        """The attached process as the log and header name it: ``"sync --watch (pid
        4242)"`` ("" when not attached)."""
        if self.mode != ATTACHED or not self.holder:
            return ""
        return f"{holder_name(self.holder)} (pid {self.holder.get('pid')})"

    # ------------------------------------------------------------------ state

    @property
    def running(self) -> bool:
        """True while this console's own watch or one-off cycle runs."""
        return self.mode in (OWN, ONCE)

    def start(self) -> None:
        """The service is open: look now and once a second."""
        if self._started:
            return
        self._started = True
        self.app.set_interval(POLL_SECONDS, self.poll)
        self.poll()

    def poll(self) -> None:
        """Look at the state directory (in a thread), unless a look is under way."""
        if self._polling or not self._started or not self.app.is_running:
            return
        self._polling = True
        self.app.run_worker(
            self._poll(), group="sync-poll", exit_on_error=False, description="sync state"
        )

    async def _poll(self) -> None:
        generation = self._generation
        try:
            snapshot = await asyncio.to_thread(self.service.monitor)
        except (RailfiestaError, RuntimeError, OSError, sqlite3.Error) as error:
            self.bridge.log("warning", f"cannot read the sync state: {error}")
            return
        finally:
            self._polling = False
        self._apply(snapshot, fresh=generation == self._generation)

    def _apply(self, snapshot: dict[str, Any], *, fresh: bool) -> None:
        self.snapshot = snapshot
        if fresh:
            self.enabled = bool(snapshot.get("enabled"))
        holder = snapshot.get("holder")
        ours = holder is not None and (
            holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname()
        )
        if holder is not None and not ours and not self.running:
            if self.mode != ATTACHED:
                self._attach(holder)
            self.holder = holder
            self._follow(snapshot)
        elif self.mode == ATTACHED:
            self.bridge.log("info", f"{self.holder_label} has stopped: the console syncs again")
            self.mode, self.holder = NONE, None
            self._follow(snapshot)
        self._stop_for_migration()
        idle = self.mode == NONE and self.enabled and not self._gave_up and not self._in_flight
        if idle and not self._down() and not self._busy():
            self._start(self._own_watch())
        self._changed()

    def _attach(self, holder: dict[str, Any]) -> None:
        """Another process syncs: follow it; its recent log shows first."""
        self.mode = ATTACHED
        self._cycles_seen = {}
        ring = list(self.snapshot.get("log") or [])
        started = holder.get("started")
        since = time.strftime("%H:%M:%S", time.localtime(started)) if started else "?"
        self.bridge.log(
            "info",
            f"attached to {holder_name(holder)} (pid {holder.get('pid')}, running since "
            f"{since}): showing its progress; s and S reach it",
        )
        self._seen_log = None
        for line in ring:
            self.bridge.log(str(line["level"]), str(line["message"]), at=float(line["at"]))
        if ring:
            self._seen_log = (float(ring[-1]["at"]), str(ring[-1]["message"]))
        self.app.refresh_bindings()

    def _follow(self, snapshot: dict[str, Any]) -> None:
        """New lines of an attached watch's log; a finished cycle reloads the panes."""
        ring = list(snapshot.get("log") or [])
        fresh = ring
        if self._seen_log is not None:
            for index in range(len(ring) - 1, -1, -1):
                line = ring[index]
                if (float(line["at"]), str(line["message"])) == self._seen_log:
                    fresh = ring[index + 1 :]
                    break
        for line in fresh:
            self.bridge.log(str(line["level"]), str(line["message"]), at=float(line["at"]))
        if ring:
            self._seen_log = (float(ring[-1]["at"]), str(ring[-1]["message"]))
        doc = snapshot.get("watch") or {}
        cycles = {k: float(v.get("at", 0)) for k, v in (doc.get("cycles") or {}).items()}
        finished = bool(self._cycles_seen) and cycles != self._cycles_seen
        first = not self._cycles_seen
        self._cycles_seen = cycles or {"": 0.0}
        if finished or (not first and doc.get("state") == "syncing"):
            self.on_news(finished)

    # ------------------------------------------------------------------ keys

    def toggle(self) -> None:
        """``s``: switch sync on or off in the config file; shown at once."""
        wanted = not self.enabled
        self.enabled = wanted
        self._generation += 1
        self._gave_up = False
        self._changed()
        self.app.run_worker(
            self._write_enabled(wanted), group="sync-switch", description="sync on/off"
        )

    async def _write_enabled(self, wanted: bool) -> None:
        try:
            await asyncio.to_thread(self.service.set_sync_enabled, wanted)
        except RailfiestaError as error:
            self.enabled = not wanted
            self._generation += 1
            self.bridge.log("error", f"cannot switch sync {'on' if wanted else 'off'}: {error}")
            self.app.notify(str(error), title="Sync not switched", severity="error", markup=False)
            self._changed()
            return
        self._generation += 1  # a look begun while the file was written read the old value
        self.enabled = wanted
        self._changed()
        word = "on" if wanted else "off"
        self.bridge.log("info", f"sync switched {word} ([sync] enabled = {str(wanted).lower()})")
        if self.holder_label:
            what = "resumes" if wanted else "pauses"
            self.bridge.log("info", f"{self.holder_label} {what} now")
        elif self.mode == OWN and not wanted:
            self._stop_own = True
            self.service.request_stop()  # after the operation in flight
        self.poll()

    def sync_now(self) -> None:
        """``S``: a cycle now (the running watch's, here or elsewhere, or a one-off)."""
        self._gave_up = False
        if self.mode in (OWN, ATTACHED):
            self.app.run_worker(self._ask_now(), group="sync-now", description="sync now")
        elif self.mode == ONCE or self._in_flight:
            self.app.notify("A sync is already running.", severity="warning")
        else:
            self._start(self._once())

    async def _ask_now(self) -> None:
        await asyncio.to_thread(self.service.request_sync_now)
        if self.holder_label:
            self.bridge.log("info", f"sync now: asked {self.holder_label}")
        else:
            self.bridge.log("info", "sync now")

    def chosen(self) -> None:
        """A conflict choice was stored or taken back: a watch that runs (here or attached)
        with sync on is asked for a cycle :data:`CHOICE_SECONDS` after the last one."""
        if self._choice_timer is not None:
            self._choice_timer.stop()
        self._choice_timer = self.app.set_timer(CHOICE_SECONDS, self._apply_choices)

    def _apply_choices(self) -> None:
        self._choice_timer = None
        if self.mode in (OWN, ATTACHED) and self.enabled and self.app.is_running:
            self.app.run_worker(
                self._ask_to_apply(), group="sync-now", description="apply conflict choices"
            )

    async def _ask_to_apply(self) -> None:
        _, waiting = await asyncio.to_thread(self.service.conflict_counts)
        if not waiting or self.mode not in (OWN, ATTACHED):
            return  # taken back, or applied meanwhile
        await asyncio.to_thread(self.service.request_sync_now)
        choices = f"{waiting} conflict choice{'' if waiting == 1 else 's'}"
        if self.holder_label:
            self.bridge.log(
                "info", f"{choices} waiting: asked {self.holder_label} to apply them now"
            )
        else:
            self.bridge.log("info", f"{choices} waiting: syncing now to apply them")

    @property
    def cycle_in_flight(self) -> bool:
        """True while this console's own cycle runs: a one-off, or the own watch syncing (or
        starting, before its first cycle); as the last look at the state directory saw it."""
        state = (self.snapshot.get("watch") or {}).get("state")
        return self.mode == ONCE or (self.mode == OWN and state not in ("waiting", "paused"))

    def migrate_next(self) -> None:
        """``M`` while this console syncs: the migration starts when no cycle is in flight (the
        own watch stops for it at once, between two cycles), else when the cycle ends."""
        if self.migration_queued:
            self.app.notify("The migration is already queued.", severity="warning")
            return
        self.migration_queued = True
        if self.cycle_in_flight:
            message = "M: the migration starts when this sync ends"
            self.bridge.log("info", message)
            self.app.notify(message, timeout=5)
        else:
            self.bridge.log("info", "M: the watch stops for the migration; it syncs again after")
        self._stop_for_migration()
        self._changed()

    def _stop_for_migration(self) -> None:
        """A queued migration and the own watch between two cycles: stop the watch (its
        end starts the migration, :meth:`_released`)."""
        queued = self.migration_queued and not self._stop_own
        if queued and self.mode == OWN and not self.cycle_in_flight:
            self._stop_own = True
            self.service.request_stop()

    def stop(self) -> None:
        """The console quits: its own watch or cycle stops after the operation in flight."""
        self.migration_queued = False
        if self.running:
            self._stop_own = True
            self.service.request_stop()

    # ------------------------------------------------------------------ workers

    @property
    def _in_flight(self) -> bool:
        """A sync worker (the own watch or a one-off) was started and has not ended: its
        mode is set only once it holds the state lock, in a thread, so until then the mode
        alone does not show it."""
        return self._worker is not None and not self._worker.is_finished

    def _start(self, work: Any) -> None:
        """Run ``work`` (:meth:`_own_watch` or :meth:`_once`), unless a sync worker is in
        flight: a second start while the first takes the lock would take it from under it
        (an exclusive worker cancels the one before, whose thread still took the lock, never
        to let it go: the console then never synced again)."""
        if self._in_flight:
            work.close()  # never awaited
            return
        self._worker = self.app.run_worker(
            work, group="sync", exclusive=True, exit_on_error=False, description="sync"
        )

    async def _locked(self, mode: str) -> Any:
        """The state lock for ``mode`` (None when another process holds it: attach)."""
        lock = self.service.lock(CONSOLE_COMMAND)
        try:
            await asyncio.to_thread(lock.acquire)
        except SyncLocked:
            self.poll()
            return None
        self.mode = mode
        self._stop_own = False
        self.app.refresh_bindings()
        self._changed()
        return lock

    def _released(self, lock: Any) -> None:
        lock.release()
        self.service.stopping = False  # a stop asked for between two tries is spent
        self.mode = NONE
        if self.migration_queued:
            self.migration_queued = False
            if self.app.is_running:
                self.start_migration()  # busy now: the own watch waits for it
        self.app.refresh_bindings()
        self._changed()
        self.poll()

    async def _own_watch(self) -> None:
        """``Service.watch`` while sync is on; a server out of reach is tried again each
        interval, any other error ends it (logged) until the user presses s or S."""
        lock = await self._locked(OWN)
        if lock is None:
            return
        self.bridge.log("info", "sync is on: this console syncs every " + clock_text(self._every))
        try:
            while not self._stop_own:
                try:
                    await self.service.watch()
                    return
                except RailfiestaError as error:
                    self.bridge.log("error", f"sync failed: {error}")
                    self.on_failure(error)
                    if not transient(error):
                        self._gave_up = True
                        self.app.notify(
                            str(error), title="Sync stopped", severity="error", markup=False
                        )
                        return
                    slept = 0.0
                    while slept < self._every and not self._stop_own:
                        await asyncio.sleep(0.2)
                        slept += 0.2
        finally:
            self._released(lock)

    @property
    def _every(self) -> float:
        return float(self.service.config.sync.interval)

    async def _once(self) -> None:
        lock = await self._locked(ONCE)
        if lock is None:
            return
        self.bridge.log("info", "sync now: one cycle")
        try:
            await self.service.sync()
        except RailfiestaError as error:
            self.bridge.log("error", f"sync failed: {error}")
            self.on_failure(error)
            self.app.notify(str(error), title="Sync failed", severity="error", markup=False)
        finally:
            self._released(lock)

    # ------------------------------------------------------------------ header

    def header_text(self, now: float | None = None, *, short: bool = False) -> str:
        """The header's sync line (see the module docstring for the modes).

        ``short``: the words for a narrow terminal (below 100 columns: about 67 columns for
        the line), so on/off, the countdown, the open conflicts and the last cycle fit in
        80: ``"● on · next 4:12 · 1 conflict · last 09:30:00 · attached: sync --watch"``.
        There the last cycle comes before who is attached, and ``waiting: <server>`` is
        left out: the screen appends why S and M cannot run, which names that server."""
        now = time.time() if now is None else now
        parts = ["● on" if self.enabled else "○ off"]
        doc = self.snapshot.get("watch") or {}
        live = self.mode in (OWN, ATTACHED) and doc.get("state") not in (None, "stopped")
        if self.mode == ONCE:
            parts.append("syncing now…")
        elif live:
            state = doc.get("state")
            if state == "syncing":
                parts.append("syncing…")
            elif state == "paused":
                parts.append("paused")
            elif doc.get("next_poll"):
                left = clock_text(float(doc["next_poll"]) - now)
                parts.append(f"next {left}" if short else f"next poll in {left}")
        elif self.mode == OWN:
            parts.append("starting…")
        elif self.waits_for_migration:
            parts.append("waits for M" if short else "waiting for the migration")
        elif self.enabled and self._gave_up:
            parts.append(
                "stopped: see the log, S retries"
                if short
                else "stopped on an error (see the log): S tries again"
            )
        elif self.enabled and self._down() and not short:
            parts.append(f"waiting: {self._down()}")
        if self.migration_queued:
            parts.append("M queued" if short else "M: the migration starts when this sync ends")
        conflicts = int(self.snapshot.get("conflicts") or 0)
        waiting = int(self.snapshot.get("resolved_waiting") or 0)
        noun = "conflict" if short else "open conflict"
        line = f"{conflicts} {noun}{'' if conflicts == 1 else 's'}"
        if waiting:
            line += f" ({waiting} chosen)" if short else f" ({waiting} chosen, not applied yet)"
        parts.append(line)
        # the last finished cycle, own or another process's (Service.last_poll, as status)
        last = ""
        if self.snapshot.get("last_poll"):
            clock = time.strftime("%H:%M:%S", time.localtime(float(self.snapshot["last_poll"])))
            last = f"last {clock}" if short else f"last cycle {clock}"
        if short and last:
            parts.append(last)
        if self.holder_label:
            parts.append(
                f"attached: {holder_name(self.holder or {})}"
                if short
                else f"attached to {self.holder_label}"
            )
        if last and not short:
            parts.append(last)
        return " · ".join(parts)
