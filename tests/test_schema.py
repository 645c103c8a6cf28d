"""The Piccolo models and the committed migrations agree: no migration would be auto-generated."""

from crm.schema import models_match_migrations


def test_models_match_migrations():
    assert models_match_migrations() == []
