"""One page of a list, as every list service returns it."""
import math
from dataclasses import dataclass, field

from ..errors import Problem


@dataclass
class Page:
    items: list
    page: int
    size: int
    total: int
    extra: dict = field(default_factory=dict)

    @property
    def pages(self):
        return math.ceil(self.total / self.size) if self.size else 0


def check_paging(rt, page, size):
    """The faults of a requested ``page`` (from 1) and ``size`` (1 to ``page_size_max``), as problems."""
    limit = rt.settings.page_size_max
    problems = []
    if not isinstance(page, int) or isinstance(page, bool) or page < 1:
        problems.append(Problem("query.page", "Must be a whole number from 1.", "OUT_OF_RANGE"))
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= limit:
        problems.append(Problem("query.size", f"Must be a whole number from 1 to {limit}.", "OUT_OF_RANGE"))
    return problems
