"""The console's themes: TOML files in the ``themes`` package, turned into Textual themes.

Each ``themes/*.toml`` holds the arguments of :class:`textual.theme.Theme` (``name``, ``dark``,
``primary``, ``secondary``, ``accent``, ``background``, ``surface``, ``panel``, ``foreground``,
``error``, ``warning``, ``success`` ...) plus a ``[variables]`` table for the console's own
colours (:data:`APP_VARIABLES`). TCSS refers to those colours only as ``$synced``, ``$conflict``
and so on, never as hex, so a theme file is the one place a colour is chosen.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import fields
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.theme import Theme

#: The theme the console starts with when none (or an unknown one) is asked for.
DEFAULT_THEME = "railfiesta-dark"
#: The theme used when NO_COLOR is set and no theme was asked for: black and white, so
#: Textual's monochrome filter keeps every contrast.
NO_COLOR_THEME = "railfiesta-high-contrast"

#: The console's own colour variables; every shipped theme sets all of them.
APP_VARIABLES = ("synced", "pending", "conflict", "only-here", "diff-added", "diff-removed")

_THEME_KEYS = {f.name for f in fields(Theme)}
_COLOUR_KEYS = {
    "primary", "secondary", "warning", "error", "success", "accent",
    "foreground", "background", "surface", "panel", "boost",
}  # fmt: skip


class ThemeFileError(ValueError):
    """A theme file is not TOML, misses ``name``/``primary``, or holds an unknown key.

    ``file``: the file's name (``railfiesta-light.toml``) when a folder was read
    (:func:`load_theme_files`), else None."""

    def __init__(self, message: str, *, file: str | None = None) -> None:
        super().__init__(message)
        self.file = file


def theme_from_toml(text: str, *, source: str = "<theme>") -> Theme:
    """Build a :class:`Theme` from the text of one theme file.

    Raises :class:`ThemeFileError` naming ``source`` when the text is not TOML, when ``name``
    or ``primary`` is missing, or when a key is not a ``Theme`` argument.
    """
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ThemeFileError(f"{source}: not valid TOML ({error})") from None
    unknown = sorted(set(data) - _THEME_KEYS)
    if unknown:
        raise ThemeFileError(f"{source}: unknown key(s) {', '.join(unknown)}")
    for required in ("name", "primary"):
        if not isinstance(data.get(required), str):
            raise ThemeFileError(f"{source}: {required!r} must be a string")
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(
        isinstance(value, str) for value in variables.values()
    ):
        raise ThemeFileError(f"{source}: [variables] must map names to colour strings")
    data["variables"] = dict(variables)
    for name in _COLOUR_KEYS & set(data):
        try:
            Color.parse(data[name])
        except (ColorParseError, TypeError):
            raise ThemeFileError(f"{source}: {name} = {data[name]!r} is not a colour") from None
    return Theme(**data)


def load_themes() -> list[Theme]:
    """Every ``*.toml`` theme shipped in the ``themes`` package, sorted by file name.

    Raises :class:`ThemeFileError` for the first bad file.
    """
    themes, errors = load_theme_files()
    if errors:
        raise errors[0]
    return themes


def load_theme_files(
    folders: Iterable[Traversable | Path] | None = None,
) -> tuple[list[Theme], list[ThemeFileError]]:
    """Every ``*.toml`` theme in ``folders`` (default: the ``themes`` package), sorted by
    file name within a folder, and one :class:`ThemeFileError` per file that could not be
    read or is not a theme (the others still load)."""
    themes: list[Theme] = []
    errors: list[ThemeFileError] = []
    for folder in folders if folders is not None else [resources.files("themes")]:
        for entry in sorted(folder.iterdir(), key=lambda item: item.name):
            if not (entry.name.endswith(".toml") and entry.is_file()):
                continue
            name = entry.name
            try:
                text = entry.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                errors.append(ThemeFileError(f"{name}: cannot be read ({error})", file=name))
                continue
            try:
                themes.append(theme_from_toml(text, source=name))
            except ThemeFileError as error:
                errors.append(ThemeFileError(str(error), file=name))
            except (TypeError, ValueError) as error:  # Theme() refused a value
                errors.append(ThemeFileError(f"{name}: {error}", file=name))
    return themes, errors


def variable_defaults(theme: Theme) -> dict[str, str]:
    """Fallbacks for :data:`APP_VARIABLES` under a theme that does not set them (Textual's
    built-in themes): derived from that theme's own signal colours."""
    success = theme.success or theme.primary
    warning = theme.warning or theme.primary
    error = theme.error or theme.primary
    muted = theme.secondary or theme.primary
    return {
        "synced": success,
        "pending": warning,
        "conflict": error,
        "only-here": muted,
        "diff-added": f"{success} 25%",
        "diff-removed": f"{error} 25%",
    }
