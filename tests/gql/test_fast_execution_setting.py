"""``JURISGRID_FAST_EXECUTION`` switches the compiled-plan execution (gql/execution.py, which
relies on graphql-core internals) on and off; `.ci/run` runs tests/gql a second time with it off,
so both ways of executing answer the same suite."""

from __future__ import annotations

import pytest
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from jurisgrid.config import ApiSettings
from jurisgrid.gql.execution import PlainSubtreeExecutor
from jurisgrid.gql.schema import build_schema


def test_on_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JURISGRID_FAST_EXECUTION", raising=False)
    assert ApiSettings().fast_execution is True
    assert build_schema(ApiSettings()).execution_context_class is PlainSubtreeExecutor


def test_off_is_graphql_cores_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JURISGRID_FAST_EXECUTION", "false")
    api = ApiSettings()
    assert api.fast_execution is False
    schema = build_schema(api)
    assert schema.execution_context_class is StrawberryGraphQLCoreExecutionContext
    assert not issubclass(schema.execution_context_class, PlainSubtreeExecutor)
    # the same schema either way
    assert schema.as_str() == build_schema(ApiSettings(fast_execution=True)).as_str()
