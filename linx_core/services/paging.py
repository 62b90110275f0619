"""One page of a list, as every list service returns it."""
from __future__ import annotations

import math
from collections.abc import Mapping
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


def sort_order(sort: str | None, sorts: Mapping[str, Any], default: str, problems: list[Problem]) -> Any:
    """The ORDER BY term of a requested ``sort``, ``FIELD[,asc|desc]`` (ascending without a direction; ``default``
    when None) with FIELD one of ``sorts`` (``{name: column}``); else None, with its problem added to ``problems``
    (``""``, ``"title,"`` and ``"title,up"`` are faults)."""
    name, comma, direction = (default if sort is None else sort).partition(",")
    direction = direction if comma else "asc"
    if name not in sorts or direction not in ("asc", "desc"):
        problems.append(Problem("query.sort", f"Must be FIELD[,asc|desc] with FIELD one of {', '.join(sorts)}.",
                                "NOT_ALLOWED"))
        return None
    return sorts[name].desc() if direction == "desc" else sorts[name].asc()
