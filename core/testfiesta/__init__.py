"""TestFiesta API v1 (and its TestRail-compatible shim): client, adapter and sync side."""
