"""Lint as part of the suite, so CI fails on what `ruff check` finds."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run([str(ruff), "check", "src", "tests"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_the_code_is_formatted():
    """`ruff format` (line length 110) is the house layout; run it before committing."""
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run(
        [str(ruff), "format", "--check", "src", "tests"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def _tag_enums():
    import importlib
    from enum import StrEnum

    for module in (
        "crm.core.audit.tags",
        "crm.identity.tags",
        "crm.clients.tags",
        "crm.leads.tags",
        "crm.kyc.tags",
    ):
        for value in vars(importlib.import_module(module)).values():
            if isinstance(value, type) and issubclass(value, StrEnum) and value is not StrEnum:
                yield value


def test_audit_tags_are_enums_of_the_form_area_subject_action():
    """Every `record_audit` call names its action through an area's tag enum, and every tag reads
    `area:subject:action` with the enum's own area, so the audit screen can filter and label them."""
    import ast
    import re

    enums = {e.__name__: e for e in _tag_enums()}
    values = [m.value for e in enums.values() for m in e]
    assert len(values) == len(set(values))
    for name, enum in enums.items():
        area = name.removesuffix("Tag").lower()
        for member in enum:
            assert re.fullmatch(rf"{area}:[a-z_]+:[a-z_]+", member.value), member

    def choices(node):  # the values an action expression can take (`A if cond else B` is either)
        return [*choices(node.body), *choices(node.orelse)] if isinstance(node, ast.IfExp) else [node]

    wrong = []
    for path in sorted((ROOT / "src" / "crm").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "record_audit"
                and len(node.args) > 1
            ):
                if not all(
                    isinstance(c, ast.Attribute) and isinstance(c.value, ast.Name) and c.value.id in enums
                    for c in choices(node.args[1])
                ):
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not wrong, "record_audit with a tag not from an enum: " + ", ".join(wrong)
