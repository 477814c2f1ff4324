"""One ``sync --once`` in a process of its own, for the kill-and-resume test.

    python tests/integration/sync_child.py CONFIG STATE_DIR

Opens ``Service(load_config(CONFIG), state_dir=STATE_DIR)`` (the secrets come from the
environment), awaits one :meth:`core.service.Service.sync` and prints one JSON line on stdout:
the list of ``SyncReport.as_dict()`` of every pair. Exits 0 when the cycle ran, whatever it
found; an exception ends it with Python's traceback and exit code 1.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from core.config import load_config
from core.service import Service


async def main(config: Path, state_dir: Path) -> None:
    async with Service(load_config(config), state_dir=state_dir) as service:
        reports = await service.sync()
    print(json.dumps([report.as_dict() for report in reports]), flush=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2])))
