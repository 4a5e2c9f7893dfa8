from django.core.paginator import Paginator
from django.utils.functional import cached_property

COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    """Counts at most COUNT_CAP + 1 rows, so a huge table never pays for a full COUNT(*).
    Past the cap the admin shows "10000+" worth of pages; filters narrow it down."""

    @cached_property
    def count(self) -> int:
        return self.object_list[: COUNT_CAP + 1].count()
