"""Every query, mutation and subscription, and every one of their arguments, is described in the
schema (GraphiQL and the committed SDL show the descriptions)."""

from __future__ import annotations

from jurisgrid.gql.schema import build_schema


def test_every_root_field_and_argument_is_described() -> None:
    schema = build_schema()._schema
    missing = []
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        assert root is not None
        for name, field in root.fields.items():
            if not (field.description or "").strip():
                missing.append(f"{root.name}.{name}")
            missing += [f"{root.name}.{name}({a})" for a, arg in field.args.items()
                        if not (arg.description or "").strip()]
    assert missing == []
