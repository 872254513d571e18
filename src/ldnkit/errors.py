"""User-facing errors: one line that says where, what is wrong and how to fix it.

The CLI prints ``str(error)`` alone (no traceback) and exits with status 2.
"""

from __future__ import annotations


class LdnError(Exception):
    """Base of every error caused by the user's input or settings (exit status 2).

    Parameters
    ----------
    where : the file, config key or layer concerned, e.g. ``"inputs.soc.path"`` or a file path.
    what : what is wrong.
    fix : how to fix it.
    """

    def __init__(self, where: str, what: str, fix: str | None = None) -> None:
        self.where, self.what, self.fix = str(where), what, fix
        text = f"{self.where}: {what}"
        if fix:
            text += f" — {fix}"
        super().__init__(" ".join(text.split()))  # always one line


class ConfigError(LdnError):
    """A run config key is unknown, missing or has a bad value."""


class InputError(LdnError):
    """An input file is missing, unreadable, truncated or unusable (no CRS, wrong codes ...)."""


class GridError(InputError):
    """Layers do not overlap, or the area of interest lies outside the data."""


class PeriodError(ConfigError):
    """A period or window asks for years the inputs do not have, or too few of them."""
