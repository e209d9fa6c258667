"""``f=html`` views of /ogc (OGC API - Features - Part 1, HTML): small server-rendered pages made
from the very JSON documents the API returns, so the two never disagree. Every text from data
or from the request (names, addresses, URLs) is escaped; no script, no external resource.
"""

from __future__ import annotations

from html import escape
from typing import Any

_STYLE = ("body{font:15px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:72em;padding:0 1em}"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}"
          "th{background:#f3f3f3}nav a{margin-right:1em}")


def _e(v: Any) -> str:
    return escape("" if v is None else str(v), quote=True)


def _href(url: str, fmt: str = "html") -> str:
    """``url`` with ``f=<fmt>`` (replacing an ``f`` already there)."""
    base, _, query = url.partition("?")
    keep = [p for p in query.split("&") if p and not p.startswith("f=")]
    return base + "?" + "&".join([*keep, f"f={fmt}"])


def page(title: str, body: str, *, json_url: str, crumbs: list[tuple[str, str]]) -> str:
    nav = " › ".join(f'<a href="{_e(_href(u))}">{_e(t)}</a>' for t, u in crumbs)
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>"
            f"<nav>{nav}</nav><h1>{_e(title)}</h1>{body}"
            f'<p><a href="{_e(_href(json_url, "json"))}">JSON</a></p></body></html>\n')


def _links(links: list[dict[str, Any]]) -> str:
    rows = "".join(f'<li><a href="{_e(_href(k["href"]) if "/ogc" in k["href"] else k["href"])}">'
                   f'{_e(k.get("title") or k["rel"])}</a> ({_e(k["rel"])})</li>'
                   for k in links if k.get("rel") not in ("self", "alternate"))
    return f"<ul>{rows}</ul>"


def landing(doc: dict[str, Any], url: str, root: str) -> str:
    body = f"<p>{_e(doc['description'])}</p>{_links(doc['links'])}"
    return page(doc["title"], body, json_url=url, crumbs=[("jurisgrid", root)])


def _collection_row(c: dict[str, Any], base: str) -> str:
    cid = c["id"]
    return (f'<tr><td><a href="{_e(_href(f"{base}/collections/{cid}"))}">{_e(cid)}</a></td>'
            f"<td>{_e(c['title'])}</td><td>{_e(c['description'])}</td>"
            f'<td><a href="{_e(_href(f"{base}/collections/{cid}/items"))}">items</a></td></tr>')


def collections(doc: dict[str, Any], url: str, base: str) -> str:
    rows = "".join(_collection_row(c, base) for c in doc["collections"])
    body = f"<table><tr><th>id</th><th>title</th><th>description</th><th></th></tr>{rows}</table>"
    return page("Collections", body, json_url=url, crumbs=[("jurisgrid", base)])


def collection(doc: dict[str, Any], url: str, base: str, queryables: dict[str, Any]) -> str:
    items_url = f"{base}/collections/{doc['id']}/items"
    extent = doc.get("extent", {})
    bbox = extent.get("spatial", {}).get("bbox", [None])[0]
    span = extent.get("temporal", {}).get("interval", [None])[0]
    fields = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v.get('type') or v.get('format'))}</td>"
                     f"<td>{_e(v.get('title'))}</td></tr>" for k, v in queryables["properties"].items())
    body = (f"<p>{_e(doc['description'])}</p>"
            + (f"<p>Extent: {_e(', '.join(f'{v:.5f}' for v in bbox))}</p>" if bbox else "")
            + (f"<p>Time: {_e(span[0])} – {_e(span[1])}</p>" if span else "")
            + f'<p><a href="{_e(_href(items_url))}">Items</a></p>'
            + "<h2>Queryables</h2><table><tr><th>property</th><th>type</th><th>meaning</th></tr>"
            + fields + "</table>")
    return page(doc["title"], body, json_url=url,
                crumbs=[("jurisgrid", base), ("collections", f"{base}/collections")])


def items(doc: dict[str, Any], url: str, base: str, cdoc: dict[str, Any],
          columns: list[str]) -> str:
    cid = cdoc["id"]
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    rows = []
    for f in doc["features"]:
        props = f["properties"]
        link = _href(f"{base}/collections/{cid}/items/{f['id']}", "json")
        rows.append(f'<tr><td><a href="{_e(link)}">{_e(f["id"])}</a></td>'
                    + "".join(f"<td>{_e(props.get(c))}</td>" for c in columns) + "</tr>")
    rels = {k["rel"]: k["href"] for k in doc["links"]}
    pager = " ".join(f'<a href="{_e(_href(rels[r]))}">{label}</a>'
                     for r, label in (("prev", "← previous"), ("next", "next →")) if r in rels)
    body = (f"<p>{doc['numberReturned']} of {doc['numberMatched']} features</p>"
            f"<table><tr><th>id</th>{head}</tr>{''.join(rows)}</table><p>{pager}</p>")
    return page(f"{cdoc['title']}: items", body, json_url=url,
                crumbs=[("jurisgrid", base), ("collections", f"{base}/collections"),
                        (cid, f"{base}/collections/{cid}")])
