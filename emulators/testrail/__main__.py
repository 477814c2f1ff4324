"""``python -m emulators.testrail``: serve a seeded TestRail emulator (see :func:`main`)."""

from emulators.testrail import main

raise SystemExit(main())
