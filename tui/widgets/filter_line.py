"""The filter line above the panes: a Textual ``Input`` whose keys do not lay out the screen.

``Input`` sets its ``virtual_size`` on every change of its value, and the layout that
``Widget.virtual_size`` asks for (the whole screen: every widget placed again, every line
drawn again) was most of the CPU of a key typed into the filter (bench/console.py: 15-25 ms a
key at 160x48). The line has a fixed size (``#filter`` in app.tcss) and no scrollbar, so its
virtual size never moves anything: here it only repaints the line.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import Input


class FilterInput(Input):
    """``Input`` whose virtual size repaints the line instead of laying out the screen."""

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)
