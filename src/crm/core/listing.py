"""Sortable, keyset-paginated lists. A list names its sortable columns (a whitelist: the URL picks a key,
never SQL); the order is always (column, id) in one direction, so the next page starts after the last row's
(value, id) and costs one index range however deep a person pages. `?sort=score` sorts by a column in its
natural direction, `?sort=-score` the other way; `?after=` is the opaque cursor the "Next page" link carries.
Any filter in the query string is kept by every sort and page link."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from crm.core.inputs import parse_int

CURSOR_MAX = 200


@dataclass(frozen=True)
class Column:
    """A sortable column: its SQL expression (never NULL: coalesce in the expression), the type of its
    values, and whether it sorts newest/highest first by default. `field` is the row key holding its value."""

    sql: str
    field: str
    kind: type = int
    descending: bool = False


@dataclass(frozen=True)
class Sort:
    """The list's order, as the sort headers and the pager need it."""

    key: str
    descending: bool
    path: str
    query: tuple[tuple[str, str], ...]  # the filter, without sort and cursor
    columns: dict[str, Column]

    def url_for(self, key: str) -> str:
        """The link of a column's header: the other direction if it is the current key, else its natural
        one."""
        descending = not self.descending if key == self.key else self.columns[key].descending
        return self._url({"sort": ("-" if descending else "") + key})

    def page_url(self, cursor: str) -> str:
        return self._url({"sort": self.param, "after": cursor})

    @property
    def param(self) -> str:
        return ("-" if self.descending else "") + self.key

    def _url(self, extra: dict[str, str]) -> str:
        return f"{self.path}?{urlencode([*self.query, *extra.items()])}"


@dataclass(frozen=True)
class Listing:
    """A list's sortable columns and its default order."""

    columns: dict[str, Column]
    default: str  # a key, with "-" for descending
    id_sql: str  # the row id's expression: the tie-breaker and the cursor's second half

    def sort(self, params: dict[str, str], path: str) -> Sort:
        raw = str(params.get("sort") or self.default)
        key = raw.removeprefix("-")
        if key not in self.columns:
            raw, key = self.default, self.default.removeprefix("-")
        query = tuple(
            (k, str(v)) for k, v in params.items() if k not in ("sort", "after") and v not in ("", None)
        )
        return Sort(key, raw.startswith("-"), path, query, self.columns)

    def order_sql(self, sort: Sort) -> str:
        direction = "DESC" if sort.descending else "ASC"
        column = self.columns[sort.key]
        if column.sql == self.id_sql:
            return f"{self.id_sql} {direction}"
        return f"{column.sql} {direction}, {self.id_sql} {direction}"

    def after_sql(self, sort: Sort, cursor: str | None, first_arg: int) -> tuple[str, list[Any]] | None:
        """The clause that starts the page after `cursor` (None for the first page, or a cursor that does not
        parse: the list starts again rather than failing), and its arguments ($first_arg onwards)."""
        parsed = self.parse_cursor(sort, cursor)
        if parsed is None:
            return None
        value, row_id = parsed
        op = "<" if sort.descending else ">"
        column = self.columns[sort.key]
        if column.sql == self.id_sql:
            return f"{self.id_sql} {op} ${first_arg}", [row_id]
        return f"({column.sql}, {self.id_sql}) {op} (${first_arg}, ${first_arg + 1})", [value, row_id]

    def parse_cursor(self, sort: Sort, cursor: str | None) -> tuple[Any, int] | None:
        if not cursor or len(cursor) > CURSOR_MAX:
            return None
        raw_value, _, raw_id = str(cursor).rpartition("~")
        row_id = parse_int(raw_id)
        if row_id is None:
            return None
        kind = self.columns[sort.key].kind
        try:
            if kind is int:
                value: Any = parse_int(raw_value)
                if value is None:
                    return None
            elif kind is dt.datetime:
                value = dt.datetime.fromisoformat(raw_value)
                if value.tzinfo is None:
                    return None
            else:
                value = raw_value
        except ValueError:
            return None
        return value, row_id

    def cursor_of(self, sort: Sort, row: dict) -> str:
        value = row[self.columns[sort.key].field]
        text = value.isoformat() if isinstance(value, dt.datetime) else str(value)
        return f"{text}~{row['id']}"


async def every_row(
    read: Callable[[Any], Awaitable[tuple[list[dict], str | None]]], f: Any, limit: int
) -> list[dict]:
    """The rows of every page of a list, in its order, up to `limit`: `read(filter)` answers one page and the
    next page's cursor; the filter is a dataclass with an `after` field (an export reads a list this way)."""
    rows: list[dict] = []
    page = dataclasses.replace(f, after="")
    while len(rows) < limit:
        found, cursor = await read(page)
        rows += found
        if cursor is None or not found:
            break
        page = dataclasses.replace(page, after=cursor)
    return rows[:limit]
