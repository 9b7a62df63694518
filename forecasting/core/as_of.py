"""What a sales upload does to the other items: moving the client's as-of date adds zero-sales days.

Every item's history runs to the client's one as-of date (the last sales date
over all items, docs/data-formats.md), and days without a row are zero sales.
So a small upload dated after the stored data moves that date for every item:
each stored item that the upload does not contain gets the days in between as
zero sales. That changes their forecasts, plans and exceptions, so the app
and the CLI say so before importing and ask for an explicit confirmation.
The rule itself does not change; this module only measures its effect.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from forecasting.core.errors import ForecastingError


@dataclass(frozen=True)
class AsOfMove:
    """An upload's move of the as-of date and the zero-sales days it adds to the items it does not contain."""

    current: date
    new: date
    #: stored items with sales that the upload does not contain: each gains ``days`` zero-sales days
    items: int

    @property
    def days(self) -> int:
        """How far the as-of date moves (days)."""
        return (self.new - self.current).days

    @property
    def zero_days(self) -> int:
        """Zero-sales days added over all those items."""
        return self.items * self.days

    def message(self) -> str:
        """One sentence with the numbers, for the app's report and the CLI's refusal."""
        return (
            f"this upload moves the data's as-of date from {self.current:%Y-%m-%d} to {self.new:%Y-%m-%d} "
            f"({self.days:,} day{'s' if self.days != 1 else ''}): {self.items:,} item(s) not in the file would get "
            f"{self.days:,} more day{'s' if self.days != 1 else ''} of zero sales each "
            f"({self.zero_days:,} zero-sales days in all), which changes their forecasts and plans"
        )


class AsOfMoveError(ForecastingError):
    """A sales import that would move the as-of date for items not in it, without the caller's confirmation."""

    def __init__(self, move: AsOfMove, how_to_confirm: str = ""):
        self.move = move
        super().__init__(move.message() + (f"; {how_to_confirm}" if how_to_confirm else ""))


def as_of_move(
    current: date | None, upload_last: date, stored_items: Iterable[str], upload_items: Iterable[str]
) -> AsOfMove | None:
    """The effect of importing sales that end on ``upload_last``, or None when no other item is affected.

    ``stored_items`` are the client's items that have sales (their history runs
    to ``current``); items without sales have no history to extend. None when
    there is no as-of date yet, when the upload does not end after it, or when
    every stored item is in the upload.
    """
    if current is None or upload_last <= current:
        return None
    others = set(stored_items) - set(upload_items)
    return AsOfMove(current, upload_last, len(others)) if others else None
