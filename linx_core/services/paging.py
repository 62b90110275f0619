"""One page of a list, as every list service returns it."""
import math
from dataclasses import dataclass, field


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
