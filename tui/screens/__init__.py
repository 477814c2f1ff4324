"""The console's screens: :mod:`tui.screens.main` and :mod:`tui.screens.help`."""
