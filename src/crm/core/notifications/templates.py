"""Notification wording as data: each kind of notification has a template (title and body, Jinja syntax in a
sandbox) registered in code as a default, edited in the admin UI as numbered, audited versions.

    CASE_ASSIGNED = register_template(TemplateSpec("case_assigned", "Case assigned to you",
        "{{ reference }} was assigned to you", "", sample={"reference": "CASE-000123"}))
    await notify(user_id, "case_assigned", {"reference": ref}, link=...)

A template is checked against its sample context before it is saved (syntax errors and unknown variables are
refused), and a template that still fails at send time falls back to the code default, so a notification is
never lost to a wording mistake.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from crm.core.audit.service import record_audit
from crm.core.audit.tags import SystemTag
from crm.core.context import Actor
from crm.core.db import fetch, transaction
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.core.notifications.tables import NotificationTemplate
from crm.core.permissions import Permission
from crm.core.scope import group_level


@dataclass(frozen=True)
class TemplateSpec:
    key: str
    label: str
    title: str
    body: str = ""
    sample: dict = field(default_factory=dict)  # every variable the template may use, with an example value


_TEMPLATES: dict[str, TemplateSpec] = {}


class _WordingEnvironment(SandboxedEnvironment):
    """Staff-written wording runs sandboxed, and cannot build huge values (`'x' * 10**9`)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context, operator: str, left, right):
        numbers = [v for v in (left, right) if isinstance(v, int | float)]
        if operator == "**" and any(abs(v) > 64 for v in numbers):
            raise SecurityError("a power above 64 is not allowed in a template")
        if operator == "*" and any(isinstance(v, str | list | tuple) for v in (left, right)):
            if any(abs(v) > 1_000 for v in numbers):
                raise SecurityError("repeating text more than 1,000 times is not allowed in a template")
        return super().call_binop(context, operator, left, right)


_ENV = _WordingEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
# What a staff-written template can raise while rendering: Jinja's own errors, and Python's for the
# expressions it evaluates ({{ 1/0 }}, {{ "a" + 1 }}, {{ items[99] }}).
RENDER_ERRORS = (TemplateError, ArithmeticError, TypeError, ValueError, LookupError, AttributeError)


def register_template(spec: TemplateSpec) -> TemplateSpec:
    _TEMPLATES[spec.key] = spec
    return spec


def template_spec(key: str) -> TemplateSpec:
    try:
        return _TEMPLATES[key]
    except KeyError:
        raise NotFound("Notification template") from None


def template_specs() -> list[TemplateSpec]:
    return sorted(_TEMPLATES.values(), key=lambda s: s.label)


CACHE_SECONDS = 5.0
_cache: dict[str, tuple[float, dict]] = {}


async def current(key: str, *, cached: bool = False) -> dict:
    """The wording in use: the newest saved version, else the code default as version 0. `cached` (sending)
    reuses a read for a few seconds: a saved change reaches other processes within CACHE_SECONDS."""
    if cached and key in _cache and time.monotonic() - _cache[key][0] < CACHE_SECONDS:
        return _cache[key][1]
    rows = await fetch(
        "SELECT * FROM notification_template WHERE key = $1 ORDER BY version DESC LIMIT 1", key
    )
    if rows:
        wording = dict(rows[0])
    else:
        spec = template_spec(key)
        wording = {
            "key": key,
            "version": 0,
            "title": spec.title,
            "body": spec.body,
            "created_at": None,
            "reason": "",
        }
    _cache[key] = (time.monotonic(), wording)
    return wording


@functools.lru_cache(maxsize=512)
def _compile(source: str) -> Template:
    """Compiled once per distinct wording (a new version is a new source text)."""
    return _ENV.from_string(source)


def _render(title: str, body: str, context: dict) -> tuple[str, str]:
    return (" ".join(_compile(title).render(context).split())[:200], _compile(body).render(context).strip())


async def render(key: str, context: dict) -> tuple[str, str]:
    """Title and body for one notification; falls back to the code default if the saved wording fails."""
    spec = template_spec(key)
    wording = await current(key, cached=True)
    try:
        return _render(wording["title"], wording["body"], context)
    except RENDER_ERRORS:
        return _render(spec.title, spec.body, {**spec.sample, **context})


def check(spec: TemplateSpec, title: str, body: str) -> tuple[str, str]:
    """Render against the sample context; a ValidationFailed names the field and the problem."""
    errors = {}
    if not title.strip():
        errors["title"] = "The title is required."
    if len(title) > 300 or len(body) > 4000:
        errors["body"] = "At most 300 characters of title and 4,000 of body."
    rendered = ("", "")
    for name, source in (("title", title), ("body", body)):
        try:
            _compile(source).render(spec.sample)
        except TemplateError as exc:
            errors.setdefault(name, f"{type(exc).__name__}: {exc.message or exc}")
        except RENDER_ERRORS as exc:
            errors.setdefault(name, f"The expression fails on the sample values: {type(exc).__name__}: {exc}")
    if errors:
        raise ValidationFailed("The template has problems", field_errors=errors)
    rendered = _render(title, body, spec.sample)
    return rendered


async def save(actor: Actor, key: str, title: str, body: str, reason: str) -> int:
    """Save a new version (group-wide, so the editor needs the permission in every entity); audited."""
    if not await group_level(actor, Permission.SYSTEM_TEMPLATES_MANAGE):
        raise PermissionDenied("Templates are group-wide: you need the permission in every entity")
    spec = template_spec(key)
    if not reason.strip():
        raise ValidationFailed("Say why", field_errors={"reason": "A reason is required."})
    check(spec, title, body)
    async with transaction():
        rows = await NotificationTemplate.raw(
            "SELECT coalesce(max(version), 0) AS v FROM notification_template WHERE key = {}", key
        )
        before = await current(key)
        version = rows[0]["v"] + 1
        await NotificationTemplate.insert(
            NotificationTemplate(
                key=key,
                version=version,
                title=title,
                body=body,
                created_by_id=actor.user_id,
                reason=reason.strip(),
            )
        )
        _cache.pop(key, None)
        await record_audit(
            actor,
            SystemTag.TEMPLATE_EDIT,
            target_type="notification_template",
            target_id=key,
            target_label=spec.label,
            before={"version": before["version"], "title": before["title"], "body": before["body"]},
            after={"version": version, "title": title, "body": body},
            reason=reason.strip(),
        )
    return version


async def versions(key: str) -> list[dict]:
    return (
        await NotificationTemplate.select()
        .where(NotificationTemplate.key == key)
        .order_by(NotificationTemplate.version, ascending=False)
    )


CASE_ASSIGNED = register_template(
    TemplateSpec(
        "case_assigned",
        "Case assigned to you",
        "{{ reference }} was assigned to you",
        "{{ title }} ({{ kind }}, priority {{ priority }}).",
        sample={"reference": "CASE-000123", "title": "Deposit spike", "kind": "alert", "priority": "high"},
    )
)
CASE_ESCALATED = register_template(
    TemplateSpec(
        "case_escalated",
        "Case past its SLA (to the team lead)",
        "{{ reference }} is past its SLA",
        "A case in your team's queue is overdue: {{ title }}.",
        sample={"reference": "CASE-000123", "title": "Deposit spike", "kind": "alert", "priority": "high"},
    )
)
