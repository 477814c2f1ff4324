"""The header: one line per server with its address, who we are there, state and budget."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label

from core.service import Budget

#: The words shown for each connection state.
STATE_TEXT = {
    "connecting": "… connecting",
    "connected": "● connected",
    "error": "✗ error",
}


def budget_text(budget: Budget | None) -> str:
    """``"12/180 req/min"`` (``"12 req/min"`` when unlimited; ``"– req/min"`` when unknown)."""
    if budget is None:
        return "– req/min"
    if budget.per_minute:
        return f"{budget.last_minute}/{budget.per_minute} req/min"
    return f"{budget.last_minute} req/min"


class ConnectionRow(Horizontal):
    """One server: ``name``, ``target`` (URL and identity), its state and request budget.

    The state shows as a class (``-connecting``, ``-connected``, ``-error``) so the stylesheet
    colours it from the theme; ``detail`` becomes the state's tooltip.
    """

    def __init__(self, side: str, name: str, target: str) -> None:
        super().__init__(id=f"conn-{side}", classes="connection-row -connecting")
        self.side = side
        self._side_name = name
        self._target = target
        self.state = "connecting"

    def compose(self) -> ComposeResult:
        """Name, target, state, budget."""
        yield Label(self._side_name, classes="conn-name")
        yield Label(self._target, classes="conn-target", markup=False)
        yield Label(STATE_TEXT["connecting"], classes="conn-state")
        yield Label(budget_text(None), classes="conn-budget")

    def set_state(self, state: str, detail: str = "") -> None:
        """Show ``state`` (connecting, connected, error); ``detail`` explains an error."""
        self.state = state
        self.set_class(state == "connecting", "-connecting")
        self.set_class(state == "connected", "-connected")
        self.set_class(state == "error", "-error")
        label = self.query_one(".conn-state", Label)
        label.update(STATE_TEXT.get(state, state))
        label.tooltip = detail or None

    def set_budget(self, budget: Budget | None) -> None:
        """Show the request budget (None: unknown)."""
        self.query_one(".conn-budget", Label).update(budget_text(budget))


class ConnectionBar(Vertical):
    """Both servers, TestRail first. ``testrail`` / ``testfiesta`` are (url, identity) pairs."""

    def __init__(self, testrail: tuple[str, str], testfiesta: tuple[str, str]) -> None:
        super().__init__(id="connections")
        self._rows = {
            "testrail": ConnectionRow("testrail", "TestRail", f"{testrail[0]} as {testrail[1]}"),
            "testfiesta": ConnectionRow(
                "testfiesta", "TestFiesta", f"{testfiesta[0]} · {testfiesta[1]}"
            ),
        }

    def compose(self) -> ComposeResult:
        """The two rows."""
        yield from self._rows.values()

    def row(self, side: str) -> ConnectionRow:
        """The row of ``side`` (``testrail`` or ``testfiesta``); KeyError otherwise."""
        return self._rows[side]

    def show_budgets(self, budgets: list[Budget] | None) -> None:
        """Update both budgets; None marks them unknown (service not open)."""
        by_side = {budget.side: budget for budget in budgets or []}
        for side, row in self._rows.items():
            row.set_budget(by_side.get(side))
