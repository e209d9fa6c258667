// Search by code, name or address: the list queries' `search` filter (code prefix or part of
// the name/address) over stations, zones, grids, communities and address points.
import { escapeHtml, gql } from "./api.js";

const QUERY = `query Search($q: String!) {
  stations(search: $q, first: 5) { edges { node { code name } } }
  zones(search: $q, first: 5) { edges { node { code name station { name } } } }
  grids(search: $q, first: 5) { edges { node { code name zone { name } } } }
  communities(search: $q, first: 5) { edges { node { code name } } }
  addressPoints(search: $q, first: 5) { edges { node { code address location(precision: 6) } } }
}`;

const KINDS = [
  ["stations", "station", "Station", (n) => ""],
  ["zones", "zone", "Zone", (n) => n.station.name],
  ["grids", "grid", "Grid", (n) => n.zone.name],
  ["communities", "community", "Community", () => ""],
  ["addressPoints", "address", "Address", () => ""],
];

/** Wire the search box; `onPick({kind, code, name, location})` is called for a chosen result. */
export function initSearch(input, list, onPick) {
  let timer = null;
  let seq = 0;
  const run = async () => {
    const q = input.value.trim();
    const mine = ++seq;
    if (q.length < 1) { list.hidden = true; return; }
    let data;
    try {
      data = await gql(QUERY, { q });
    } catch (err) {
      list.innerHTML = `<li class="error">Search failed: ${escapeHtml(err.message)}</li>`;
      list.hidden = false;
      return;
    }
    if (mine !== seq) return; // a newer search is on its way
    const items = [];
    for (const [key, kind, label, extra] of KINDS) {
      for (const { node } of data[key].edges) {
        items.push({ kind, label, code: node.code, name: node.name || node.address,
          extra: extra(node), location: node.location || null });
      }
    }
    list.innerHTML = items.length ? items.map((it, i) => `
      <li data-i="${i}" tabindex="0"><span class="kind">${it.label}</span> ${escapeHtml(it.name)}
        <code>${escapeHtml(it.code)}</code>${it.extra ? ` <small>${escapeHtml(it.extra)}</small>` : ""}</li>`).join("")
      : `<li class="empty">Nothing matches “${escapeHtml(q)}”.</li>`;
    list.hidden = false;
    list.querySelectorAll("li[data-i]").forEach((li) => {
      const pick = () => { list.hidden = true; onPick(items[Number(li.dataset.i)]); };
      li.onclick = pick;
      li.onkeydown = (e) => { if (e.key === "Enter") pick(); };
    });
  };
  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(run, 250); });
  input.addEventListener("keydown", (e) => { if (e.key === "Enter") { clearTimeout(timer); run(); } });
  input.addEventListener("keydown", (e) => { if (e.key === "Escape") list.hidden = true; });
}

/** The geometry of a unit, for zooming to it. */
export async function geometryOf(kind, code) {
  const field = { station: "station", zone: "zone", grid: "grid", community: "community" }[kind];
  const data = await gql(`query G($code: String!) { ${field}(code: $code) { geometry(simplify: 20, precision: 5) } }`, { code });
  return data[field]?.geometry || null;
}
