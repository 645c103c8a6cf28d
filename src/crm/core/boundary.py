"""The check every request passes after routing and before its handler (the app's `before_request` hook):
every value it carries is one the handlers and the database can hold, or the request is refused with a
reason, so no hostile value travels inward to fail as a 500 halfway through a change.

- path: an integer id outside PostgreSQL's `integer` range names no record: 404;
- query: text without NUL, at most 2,000 characters; a parameter the handler declares as an integer
  within range: otherwise 400;
- form (url-encoded or multipart): every text field without NUL, at most 200,000 characters: otherwise 400;
- JSON (outside the webhook door, which stores the raw body first and answers for itself): UTF-8, nested at
  most 32 levels, no NUL, no non-finite number: otherwise 400.

Handlers that parse numbers or dates themselves use `crm.core.inputs.parse_int` / `parse_date`, which apply
the same ranges."""

from __future__ import annotations

import functools
from typing import Any

from litestar import Request
from litestar.handlers import HTTPRouteHandler

from crm.core.errors import NotFound
from crm.core.inputs import BadInput, in_int_range, json_value, text_problem

MAX_QUERY_TEXT = 2_000
MAX_FORM_TEXT = 200_000
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@functools.cache
def _integer_query_names(handler: HTTPRouteHandler) -> frozenset[str]:
    """The query parameters `handler` declares as integers (under their query alias, if any)."""
    names = set()
    for name, definition in handler.parsed_fn_signature.parameters.items():
        types = [definition, *definition.inner_types] if definition.is_optional else [definition]
        if any(t.annotation is int for t in types):
            alias = getattr(definition.kwarg_definition, "query", None)
            names.add(alias or name)
    return frozenset(names)


def _refuse(name: str, problem: str) -> BadInput:
    return BadInput(f"The value of '{name[:40]}' {problem}.", field_errors={name[:40]: problem})


def _check_text(name: str, value: Any, max_length: int) -> None:
    if isinstance(value, str):
        problem = text_problem(value, max_length=max_length) or text_problem(name, max_length=200)
        if problem:
            raise _refuse(name, problem)


async def check_request(request: Request) -> None:
    for name, value in request.path_params.items():
        if isinstance(value, int) and not in_int_range(value):
            raise NotFound()
        _check_text(name, value, MAX_QUERY_TEXT)
    integers = _integer_query_names(request.route_handler)
    for name, value in request.query_params.multi_items():
        _check_text(name, value, MAX_QUERY_TEXT)
        if name in integers:
            text = value.strip()
            if text.lstrip("-").isascii() and text.lstrip("-").isdigit() and not in_int_range(int(text)):
                raise _refuse(name, "is out of range")
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in FORM_TYPES:
        form = await request.form()
        for name, value in form.multi_items():
            _check_text(name, value, MAX_FORM_TEXT)
    elif content_type == "application/json" and not request.route_handler.opt.get("raw_body"):
        json_value(await request.body())
