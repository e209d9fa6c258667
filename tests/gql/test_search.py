"""`search` finds what people type: spaces in the text or in the query do not count, codes by
prefix — checked against an independent scan of every address in Python."""

from __future__ import annotations

from sqlalchemy import Engine, text

Q = """query($q: String!) { addressPoints(search: $q, first: 1000) { totalCount nodes { code } } }"""


def _addresses(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT code, address FROM address_point")).all())


def _expected(addresses: dict[str, str], q: str) -> set[str]:
    term = "".join(q.split()).lower()
    return {c for c, a in addresses.items() if term in "".join(a.split()).lower() or c.startswith(q.strip())}


def test_an_address_is_found_with_or_without_its_spaces(gql, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    addresses = _addresses(engine)
    spaced = sorted((c, a) for c, a in addresses.items() if " " in a.strip())
    assert spaced, "the test county has addresses with spaces"
    code, address = spaced[0]
    for q in (address, address.replace(" ", ""), " ".join(address.replace(" ", ""))):
        out = gql(Q, {"q": q})
        assert "errors" not in out, out
        got = {n["code"] for n in out["data"]["addressPoints"]["nodes"]}
        assert code in got, q
        assert got == _expected(addresses, q), q
        assert out["data"]["addressPoints"]["totalCount"] == len(got)


def test_a_blank_search_filters_nothing_and_a_code_prefix_finds_the_code(gql, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    addresses = _addresses(engine)
    everything = gql("{ addressPoints(first: 1) { totalCount } }")["data"]["addressPoints"]["totalCount"]
    blank = gql(Q, {"q": "   "})["data"]["addressPoints"]["totalCount"]
    assert blank == everything == len(addresses)
    code = sorted(addresses)[0]
    out = gql(Q, {"q": code[:-2]})["data"]["addressPoints"]["nodes"]
    assert code in {n["code"] for n in out}
