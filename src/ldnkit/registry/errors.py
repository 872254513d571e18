"""Registry errors: one line naming the field, what is wrong and how to fix it (HTTP 4xx later).

They subclass :class:`ldnkit.errors.LdnError`, so the CLI prints them alone and exits with status 2.
"""

from __future__ import annotations

from typing import Any

from ldnkit.errors import LdnError


class RegistryError(LdnError):
    """An activity, a token or an import row is unusable.

    Parameters
    ----------
    field : the field concerned, e.g. ``"geometry"`` or ``"row 3: end_date"``.
    what : what is wrong.
    fix : how to fix it.
    repaired : for an invalid geometry, the repaired one (shapely) that the user may accept.
    """

    status_code = 422

    def __init__(self, field: str, what: str, fix: str | None = None, repaired: Any = None) -> None:
        super().__init__(field, what, fix)
        self.field = self.where
        self.repaired = repaired


class NotFoundError(RegistryError):
    """No activity (or token) with that id."""

    status_code = 404


class StaleVersionError(RegistryError):
    """An update named a version that is no longer the current one (HTTP 412): nothing was changed."""

    status_code = 412


class TransitionError(RegistryError):
    """A status change the approval workflow does not allow (e.g. draft -> approved)."""

    status_code = 409
