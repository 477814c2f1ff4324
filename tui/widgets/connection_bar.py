"""The header: one line per server with its address, who we are there, state and budget, and
(when the config has several ``[[pair]]``) which pair the panes show."""

from __future__ import annotations

import math
import time

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label

from core.service import Budget

#: The words shown for each connection state.
STATE_TEXT = {
    "connecting": "… connecting",
    "connected": "● connected",
    "retrying": "↻ retrying",
    "error": "✗ error",
    "not-connected": "– not connected",
}


def budget_text(budget: Budget | None) -> str:
    """``"12/180 req/min"`` (``"12 req/min"`` when unlimited; ``"– req/min"`` when unknown)."""
    if budget is None:
        return "– req/min"
    if budget.per_minute:
        return f"{budget.last_minute}/{budget.per_minute} req/min"
    return f"{budget.last_minute} req/min"


def answered(budget: Budget) -> int:
    """Requests of the session that the server answered with success (sent minus failed)."""
    return budget.stats.total - budget.stats.errors


class ConnectionRow(Horizontal):
    """One server: ``name``, ``target`` (URL and identity), its state and request budget.

    The state shows as a class (``-connecting``, ``-connected``, ``-retrying``, ``-error``,
    ``-not-connected``: never contacted, because the console could not start) so
    the stylesheet colours it from the theme; ``detail`` becomes the state's tooltip. While the
    server asks us to wait (429/409), the budget cell counts the wait down instead.
    """

    def __init__(self, side: str, name: str, target: str) -> None:
        super().__init__(id=f"conn-{side}", classes="connection-row -connecting")
        self.side = side
        self._side_name = name
        self._target = target
        self.state = "connecting"
        self._budget: Budget | None = None
        self._wait_until: float | None = None
        #: successful answers counted when the state was last set (a later one means "up")
        self._answered_at_state = 0

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
    def budget_text(self) -> str:
        """The budget cell as shown (the request budget, or a wait's countdown)."""
        return str(self.query_one(".conn-budget", Label).content)

    def set_state(self, state: str, detail: str = "") -> None:
        """Show ``state`` (connecting, connected, retrying, error, not-connected); ``detail``
        explains it."""
        self.state = state
        for name in STATE_TEXT:
            self.set_class(state == name, f"-{name}")
        label = self.query_one(".conn-state", Label)
        label.update(STATE_TEXT.get(state, state))
        label.tooltip = detail or None
        if self._budget is not None:
            self._answered_at_state = answered(self._budget)

    def waiting(self, seconds: float, detail: str) -> None:
        """The server answered 429/409: it is up, and we wait ``seconds``."""
        self.set_state("connected", detail)
        self._wait_until = time.monotonic() + seconds
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
            label.update(f"rate limit {math.ceil(left)} s")
            label.set_class(True, "-waiting")
            return
        self._wait_until = None
        label.set_class(False, "-waiting")
        label.update(budget_text(self._budget))


class ConnectionBar(Vertical):
    """Both servers, TestRail first. ``testrail`` / ``testfiesta`` are (url, identity) pairs.

    A third line names the pair shown when there are several (:meth:`show_pair`)."""

    def __init__(self, testrail: tuple[str, str], testfiesta: tuple[str, str]) -> None:
        super().__init__(id="connections")
        self._rows = {
            "testrail": ConnectionRow("testrail", "TestRail", f"{testrail[0]} as {testrail[1]}"),
            "testfiesta": ConnectionRow(
                "testfiesta", "TestFiesta", f"{testfiesta[0]} · {testfiesta[1]}"
            ),
        }

    def compose(self) -> ComposeResult:
        """The two rows, then the pair line (hidden until :meth:`show_pair`)."""
        yield from self._rows.values()
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

    def show_pair(self, text: str) -> None:
        """Show the pair line (``""`` hides it)."""
        self.query_one("#pair-text", Label).update(text)
        self.query_one("#pair-row").display = bool(text)

    def show_budgets(self, budgets: list[Budget] | None) -> None:
        """Update both budgets; None marks them unknown (service not open)."""
        by_side = {budget.side: budget for budget in budgets or []}
        for side, row in self._rows.items():
            row.set_budget(by_side.get(side))
