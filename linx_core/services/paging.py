"""One page of a list, as every list service returns it."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import Problem

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Runtime


@dataclass
class Page:
    items: list[Any]
    page: int
    size: int
    total: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return math.ceil(self.total / self.size) if self.size else 0


def check_paging(rt: Runtime, page: object, size: object) -> list[Problem]:
    """The faults of a requested ``page`` (from 1) and ``size`` (1 to ``page_size_max``), as problems."""
    limit = rt.settings.page_size_max
    problems: list[Problem] = []
    if not isinstance(page, int) or isinstance(page, bool) or page < 1:
        problems.append(Problem("query.page", "Must be a whole number from 1.", "OUT_OF_RANGE"))
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= limit:
        problems.append(Problem("query.size", f"Must be a whole number from 1 to {limit}.", "OUT_OF_RANGE"))
    return problems
