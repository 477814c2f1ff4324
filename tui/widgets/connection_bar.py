"""The header: one line per server with its address, who we are there, state (with the error
of that side only) and budget, a sync line (on/off, next poll, open conflicts, an attached
``sync --watch``), and (when the config has several ``[[pair]]``) which pair the panes show."""

from __future__ import annotations

import math
import time

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label

from core.service import Budget
from tui.widgets.text import show_text

#: The words shown for each connection state.
STATE_TEXT = {
    "connecting": "… connecting",
    "connected": "● connected",
    "retrying": "↻ retrying",
    "error": "✗ error",
    "refused": "✗ refused",
    "not-connected": "– not connected",
}


def budget_text(budget: Budget | None) -> str:
    """``"12/180 req/min"`` (``"12 req/min"`` when unlimited; ``"– req/min"`` when unknown),
    then ``" · 429×2"`` once the server has asked us to wait for its rate limit (429
    answers so far) and ``" · maintenance×1"`` for TestRail's maintenance waits (409: the
    core counts them apart, ``RequestStats.maintenance_waits``)."""
    if budget is None:
        return "– req/min"
    text = (
        f"{budget.last_minute}/{budget.per_minute} req/min"
        if budget.per_minute
        else f"{budget.last_minute} req/min"
    )
    maintenance = budget.stats.maintenance_waits
    limited = budget.stats.rate_limited - maintenance
    if limited:
        text += f" · 429×{limited}"
    if maintenance:
        text += f" · maintenance×{maintenance}"
    return text


def address_text(url: str, *, narrow: bool) -> str:
    """A server's address as the header shows it: the URL as configured, or on a narrow
    terminal without its scheme and trailing slash (``"testrail.example.com"``), so the
    identity after it stays in view at 80 columns."""
    if not narrow:
        return url
    return url.split("://", 1)[-1].rstrip("/")


def answered(budget: Budget) -> int:
    """Requests of the session that the server answered with success (sent minus failed)."""
    return budget.stats.total - budget.stats.errors


class ConnectionRow(Horizontal):
    """One server: ``name``, ``target`` (URL and identity; ``short_target`` on a narrow
    terminal: :meth:`set_narrow`), its state and request budget.

    The state shows as a class (``-connecting``, ``-connected``, ``-retrying``, ``-error``,
    ``-refused``: up, but our login refused, ``-not-connected``: never contacted, because the
    console could not start) so
    the stylesheet colours it from the theme; ``detail`` becomes the state's tooltip. While the
    server asks us to wait (429/409), the budget cell counts the wait down instead.
    """

    def __init__(self, side: str, name: str, target: str, short_target: str = "") -> None:
        super().__init__(id=f"conn-{side}", classes="connection-row -connecting")
        self.side = side
        self._side_name = name
        self._targets = (target, short_target or target)
        self._target = target
        self._detail = ""
        self.state = "connecting"
        self._budget: Budget | None = None
        self._wait_until: float | None = None
        #: what the server's wait is called ("rate limit", "maintenance": the core's name)
        self._wait_reason = "rate limit"
        #: successful answers counted when the state was last set (a later one means "up")
        self._answered_at_state = 0
        #: while "refused": what the server refused, as a sentence says it after its name
        #: ("refused the API key": :func:`core.errors.refusal`)
        self.phrase = ""

    def compose(self) -> ComposeResult:
        """Name, target, state, budget."""
        yield Label(self._side_name, classes="conn-name")
        yield Label(self._target, classes="conn-target", markup=False)
        yield Label(STATE_TEXT["connecting"], classes="conn-state")
        yield Label(budget_text(None), classes="conn-budget")

    @property
    def state_text(self) -> str:
        """The state as shown."""
        return str(self.query_one(".conn-state", Label).content)

    @property
    def target_text(self) -> str:
        """The address cell as shown (with the error of this side, when it has one)."""
        return str(self.query_one(".conn-target", Label).content)

    @property
    def down(self) -> bool:
        """True while this server cannot be used (an error, or never contacted)."""
        return self.state in ("error", "refused", "not-connected")

    @property
    def budget_text(self) -> str:
        """The budget cell as shown (the request budget, or a wait's countdown)."""
        return str(self.query_one(".conn-budget", Label).content)

    def set_state(self, state: str, detail: str = "", *, short: str = "", phrase: str = "") -> None:
        """Show ``state`` (connecting, connected, retrying, error, refused, not-connected);
        ``detail`` explains it. A refusal shows ``short`` as its state ("✗ key refused": the
        whole reason is the tooltip's and the log's) and keeps ``phrase`` for the sync line."""
        self.state = state
        self.phrase = phrase if state == "refused" else ""
        for name in STATE_TEXT:
            self.set_class(state == name, f"-{name}")
        label = self.query_one(".conn-state", Label)
        label.update(f"✗ {short}" if state == "refused" and short else STATE_TEXT.get(state, state))
        label.tooltip = detail or None
        self._detail = detail
        self._show_target()
        if self._budget is not None:
            self._answered_at_state = answered(self._budget)

    def set_narrow(self, narrow: bool) -> None:
        """Show the short address (a narrow terminal) or the whole one."""
        self._target = self._targets[1] if narrow else self._targets[0]
        if self.is_mounted:
            self._show_target()

    def _show_target(self) -> None:
        """The address; the error of this side only, where it is read: after its address."""
        target = self.query_one(".conn-target", Label)
        detail = self._detail
        shown = self.state in ("error", "not-connected") and detail
        text = f"{self._target} · {' '.join(detail.split())}" if shown else self._target
        if str(target.content) != text:
            target.update(text)
            target.tooltip = detail if shown else None

    def waiting(self, seconds: float, detail: str, *, reason: str = "rate limit") -> None:
        """The server answered 429/409: it is up, and we wait ``seconds``; ``reason`` names
        the wait in the budget cell ("rate limit", "maintenance")."""
        self.set_state("connected", detail)
        self._wait_until = time.monotonic() + seconds
        self._wait_reason = reason
        self._show_budget()

    def set_budget(self, budget: Budget | None) -> None:
        """Show the request budget (None: unknown). An answered request proves the server up:
        "connecting" becomes "connected" after any, "retrying" after one since the retry."""
        self._budget = budget
        if budget is not None and (
            (self.state == "connecting" and answered(budget) > 0)
            or (self.state == "retrying" and answered(budget) > self._answered_at_state)
        ):
            self.set_state("connected")
        self._show_budget()

    def _show_budget(self) -> None:
        label = self.query_one(".conn-budget", Label)
        left = (self._wait_until or 0.0) - time.monotonic()
        if left > 0:
            text, waiting = f"{self._wait_reason} {math.ceil(left)} s", True
        else:
            self._wait_until = None
            text, waiting = budget_text(self._budget), False
        label.set_class(waiting, "-waiting")
        shown = str(label.content)
        if shown != text:  # every second: redrawn only on a change, and laid out (the
            # screen's layout: the cell is ``width: auto``) only when its width changes:
            # "36/180 req/min" becoming "37/180 req/min" moves nothing beside it
            label.update(text, layout=cell_len(text) != cell_len(shown))


class ConnectionBar(Vertical):
    """Both servers, TestRail first. ``testrail`` / ``testfiesta`` are (url, identity) pairs.

    A third line names the pair shown when there are several (:meth:`show_pair`)."""

    def __init__(self, testrail: tuple[str, str], testfiesta: tuple[str, str]) -> None:
        super().__init__(id="connections")

        def target(url: str, joiner: str, who: str, *, narrow: bool) -> str:
            return f"{address_text(url, narrow=narrow)}{joiner}{who}"

        self._rows = {
            side: ConnectionRow(
                side,
                name,
                target(url, joiner, who, narrow=False),
                target(url, joiner, who, narrow=True),
            )
            for side, name, (url, who), joiner in (
                ("testrail", "TestRail", testrail, " as "),
                ("testfiesta", "TestFiesta", testfiesta, " · "),
            )
        }

    def set_narrow(self, narrow: bool) -> None:
        """Below 100 columns (``MainScreen``'s ``-narrow``): the addresses without their
        scheme (:func:`address_text`)."""
        for row in self._rows.values():
            row.set_narrow(narrow)

    def compose(self) -> ComposeResult:
        """The two rows, the sync line, then the pair line (hidden until :meth:`show_pair`)."""
        yield from self._rows.values()
        with Horizontal(id="sync-row", classes="connection-row"):
            yield Label("Sync", classes="conn-name")
            yield Label("", id="sync-text", markup=False)
        with Horizontal(id="pair-row", classes="connection-row"):
            yield Label("Pair", classes="conn-name")
            yield Label("", id="pair-text", markup=False)

    def row(self, side: str) -> ConnectionRow:
        """The row of ``side`` (``testrail`` or ``testfiesta``); KeyError otherwise."""
        return self._rows[side]

    @property
    def pair_text(self) -> str:
        """The pair line as shown ("" when hidden)."""
        row = self.query_one("#pair-row")
        return str(self.query_one("#pair-text", Label).content) if row.display else ""

    @property
    def sync_text(self) -> str:
        """The sync line as shown."""
        return str(self.query_one("#sync-text", Label).content)

    def show_sync(self, text: str, *, on: bool) -> None:
        """Show the sync line (``on`` colours it as running)."""
        label = self.query_one("#sync-text", Label)
        if str(label.content) != text:
            label.update(text)
        self.query_one("#sync-row").set_class(on, "-sync-on")

    def show_pair(self, text: str) -> None:
        """Show the pair line (``""`` hides it)."""
        show_text(self.query_one("#pair-text", Label), text)
        self.query_one("#pair-row").display = bool(text)

    def show_budgets(self, budgets: list[Budget] | None) -> None:
        """Update both budgets; None marks them unknown (service not open)."""
        by_side = {budget.side: budget for budget in budgets or []}
        for side, row in self._rows.items():
            row.set_budget(by_side.get(side))
