"""Terminal manners of the console: refuse to start without a terminal, and end with the
command line's exit codes (core/report.py: 0 clean, 3 fatal)."""

from __future__ import annotations

import sys
from typing import Any

from core.errors import ConfigError
from core.report import CLEAN, FATAL

#: What the console says when it is started without a terminal (exit 3).
NO_TERMINAL = (
    "the console needs a terminal, and {which} not one; "
    "use a headless command instead (railfiesta status, sync --once, migrate)"
)


def require_terminal() -> None:
    """Raise :class:`ConfigError` (fatal: exit 3) unless stdin and stdout are terminals, so
    the console never waits on a pipe, a cron job or ``nohup`` for keys that cannot come."""
    missing = [
        name
        for name, stream in (("stdin", sys.stdin), ("stdout", sys.stdout))
        if stream is None or not stream.isatty()
    ]
    if missing:
        which = " and ".join(missing) + (" are" if len(missing) > 1 else " is")
        raise ConfigError(
            NO_TERMINAL.format(which=which),
            hint="run railfiesta in a terminal (ssh -t, tmux) to open the console",
        )


def run_console(app: Any, *, mouse: bool) -> int:
    """Run the console ``app`` (a Textual App) and turn how it ended into the CLI's exit
    code: Textual ends with 1 after an error nothing handled (it printed the traceback),
    which is fatal here (3); an exit the app asked for keeps its code (0 after ``q``)."""
    app.run(mouse=mouse)
    code = app.return_code
    if code == 1:
        print("railfiesta: the console stopped on an unexpected error (above)", file=sys.stderr)
        return FATAL
    return int(code or CLEAN)
