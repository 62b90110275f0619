"""Paging for list endpoints: the query's page, size and sort, and the page body every list answers with."""
import re

from linx_core.errors import InvalidRequest, Problem
from linx_core.ids import as_uuid


def query_int(args, name, default, problems):
    """A whole number from the query string, or ``default``; a fault goes into ``problems``."""
    raw = args.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        problems.append(Problem(f"query.{name}", "Must be a whole number.", "INVALID_TYPE"))
        return default
    return int(raw)


def query_uuid(args, name, problems):
    """A UUID from the query string, or None; a fault goes into ``problems``."""
    raw = args.get(name)
    if raw is None:
        return None
    found = as_uuid(raw.strip())
    if found is None:
        problems.append(Problem(f"query.{name}", "Must be a UUID.", "INVALID_UUID"))
    return found


def page_query(args, allowed=("page", "size")):
    """``(page, size)`` from a list's query string (1 and 20 when absent), or a 400 with every fault: an unknown
    query parameter (not in ``allowed``), a page or size that is not a whole number."""
    problems = [Problem(f"query.{k}", "Unknown query parameter.", "UNKNOWN_FIELD") for k in args if k not in allowed]
    page, size = query_int(args, "page", 1, problems), query_int(args, "size", 20, problems)
    if problems:
        raise InvalidRequest("The query is not valid.", problems)
    return page, size


def literal(text):
    """``text`` as a regular expression that both Python and ECMA-262 (unicode mode) read alike:
    unlike :func:`re.escape`, it leaves ``-`` alone, which a ``u``-flag RegExp refuses escaped."""
    return re.sub(r"[\\^$.|?*+()\[\]{}]", lambda m: "\\" + m.group(), text)


def sort_pattern(fields):
    """The regular expression of ``FIELD[,asc|desc]`` over ``fields``, as the OpenAPI document states it."""
    return rf"^({'|'.join(map(literal, fields))})(,(asc|desc))?$"


def page_dict(result, render):
    """``{content, page, size, totalElements, totalPages}`` for a :class:`linx_core.services.paging.Page`."""
    return {
        "content": [render(item) for item in result.items],
        "page": result.page,
        "size": result.size,
        "totalElements": result.total,
        "totalPages": result.pages,
    }
