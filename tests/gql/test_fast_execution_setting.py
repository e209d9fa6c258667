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


def test_content_type_parsed_once_per_value() -> None:
    """With the fast path, strawberry's view parses a Content-Type through a cache (gql/router.py)
    that answers as strawberry does, with a dict of its own each time; off: strawberry's own."""
    from strawberry.http import async_base_view
    from strawberry.http.parse_content_type import parse_content_type

    from jurisgrid.gql import router

    value = "application/json; charset=utf-8"
    try:
        router.use_cached_content_type(True)
        assert async_base_view.parse_content_type is router.cached_parse_content_type
        first = router.cached_parse_content_type(value)
        assert first == parse_content_type(value) == ("application/json", {"charset": "utf-8"})
        first[1]["charset"] = "changed by a caller"
        assert router.cached_parse_content_type(value) == ("application/json", {"charset": "utf-8"})
        router.use_cached_content_type(False)
        assert async_base_view.parse_content_type is parse_content_type
    finally:
        router.use_cached_content_type(True)


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
def test_json_bodies_answered(client, content_type: str) -> None:
    for _ in range(2):  # the second time from the cache
        r = client.post("/graphql", content=b'{"query": "{ __typename }"}',
                        headers={"content-type": content_type})
        assert r.status_code == 200 and r.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_other_bodies_refused(client, count_sql, content_type: str) -> None:
    for _ in range(2):  # the second time from the cache: still refused, nothing run
        r = client.post("/graphql", content=b'{"query": "{ counties { code } }"}',
                        headers={"content-type": content_type})
        assert r.status_code == 400
        assert "data" not in r.text
    assert count_sql.count == 0
