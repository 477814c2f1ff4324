"""core never loads the console, Textual or the emulators (DESIGN §2); checked in a fresh
interpreter so nothing else imported by the test run can hide a leak."""

from __future__ import annotations

import json
import subprocess
import sys


def test_importing_all_of_core_loads_no_textual_tui_or_emulators() -> None:
    code = (
        "import json, sys, pkgutil, importlib, core\n"
        "for m in pkgutil.walk_packages(core.__path__, 'core.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        ).stdout
    )
    assert "core.service" in loaded
    leaks = [m for m in loaded if m.split(".")[0] in ("textual", "tui", "emulators")]
    assert leaks == []


def test_emulators_load_nothing_of_ours() -> None:
    code = (
        "import json, sys, emulators.testrail, emulators.testfiesta, emulators.server\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        ).stdout
    )
    assert "emulators.testrail" in loaded
    assert [m for m in loaded if m.split(".")[0] in ("core", "tui", "textual")] == []
