// Search what people type: codes (exact or prefix), names and addresses (with or without
// spaces), townships, and coordinates in WGS 84 / CGCS2000 / GCJ-02 / BD-09. Exact matches come
// first; arrow keys move through the results and Enter picks one.
import { escapeHtml, gql } from "./api.js";
import { parseCoordinates } from "./crs.js";
import { t } from "./i18n.js";

const PAGE = 5; // shown per kind before "more"

const KINDS = [
  { key: "stations", kind: "station", fields: "code name", extra: () => "" },
  { key: "zones", kind: "zone", fields: "code name station { name }", extra: (n) => n.station.name },
  { key: "grids", kind: "grid", fields: "code name zone { name }", extra: (n) => n.zone.name },
  { key: "townships", kind: "township", fields: "code name", extra: () => "" },
  { key: "communities", kind: "community", fields: "code name", extra: () => "" },
  { key: "addressPoints", kind: "address", fields: "code address location(precision: 6)", extra: () => "" },
];

const queryFor = (kinds, first) => `query Search($q: String!) {
  ${kinds.map((k) => `${k.key}(search: $q, first: ${first}) { edges { node { ${k.fields} } } }`).join("\n  ")}
}`;

/** Exact code or name first, then prefixes, then the rest (stable within each rank). */
function rank(item, q) {
  const name = (item.name || "").replace(/\s+/g, "");
  const qq = q.replace(/\s+/g, "");
  if (item.code === q || name === qq) return 0;
  if (item.code.startsWith(q) || name.startsWith(qq)) return 1;
  return 2;
}

const CRS_CHOICES = ["WGS84", "GCJ02", "BD09"];

/** Wire the search box; `onPick(item)` is called for a chosen result: {kind, code, name,
 *  location} for units and addresses, {kind: "point", lon, lat, crs} for coordinates. */
export function initSearch(input, list, onPick) {
  let timer = null;
  let seq = 0;
  let items = [];
  let active = -1;
  const expanded = new Set();

  const setActive = (i) => {
    const lis = [...list.querySelectorAll("li[data-i]")];
    if (!lis.length) return;
    active = (i + lis.length) % lis.length;
    lis.forEach((li, j) => li.setAttribute("aria-selected", String(j === active)));
    lis[active].scrollIntoView({ block: "nearest" });
    input.setAttribute("aria-activedescendant", lis[active].id);
  };
  const close = () => { list.hidden = true; input.setAttribute("aria-expanded", "false"); active = -1; };
  const pick = (i) => { const it = items[i]; if (!it) return; close(); onPick(it); };

  const render = (q, more) => {
    list.innerHTML = items.length
      ? items.map((it, i) => `<li id="result-${i}" data-i="${i}" role="option" aria-selected="false">
          <span class="kind">${escapeHtml(t(`kind.${it.kind}`))}</span> ${escapeHtml(it.name)}
          ${it.code ? `<code>${escapeHtml(it.code)}</code>` : ""}${it.extra ? ` <small>${escapeHtml(it.extra)}</small>` : ""}</li>`).join("")
        + more.map((k) => `<li class="more" data-more="${k.key}" role="option">${escapeHtml(t("search.more", { kind: t(`kind.${k.kind}`) }))}</li>`).join("")
      : `<li class="empty">${escapeHtml(t("search.none", { q }))}</li>`;
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    active = -1;
    list.querySelectorAll("li[data-i]").forEach((li) => { li.onclick = () => pick(Number(li.dataset.i)); });
    list.querySelectorAll("li[data-more]").forEach((li) => {
      li.onclick = () => { expanded.add(li.dataset.more); run(); };
    });
  };

  const run = async () => {
    const q = input.value.trim();
    const mine = ++seq;
    if (q.length < 1) { close(); return; }
    const found = [];
    const coords = parseCoordinates(q);
    if (coords) {
      for (const crs of coords.crs ? [coords.crs] : CRS_CHOICES) {
        found.push({ kind: "point", code: "", name: t("search.coords", { lon: coords.lon, lat: coords.lat, crs }),
          lon: coords.lon, lat: coords.lat, crs: crs === "CGCS2000" ? "CGCS2000" : crs, extra: "" });
      }
    }
    const more = [];
    if (!coords) {
      let data;
      try {
        // each kind asks for one more than it shows: that one says whether "more" is needed
        const byFirst = new Map();
        for (const k of KINDS) {
          const first = expanded.has(k.key) ? 50 : PAGE + 1;
          if (!byFirst.has(first)) byFirst.set(first, []);
          byFirst.get(first).push(k);
        }
        const parts = await Promise.all([...byFirst].map(([first, ks]) => gql(queryFor(ks, first), { q })));
        data = Object.assign({}, ...parts);
      } catch (err) {
        if (mine !== seq) return;
        list.innerHTML = `<li class="error">${escapeHtml(t("search.failed", { msg: err.message }))}</li>`;
        list.hidden = false;
        return;
      }
      if (mine !== seq) return; // a newer search is on its way
      for (const k of KINDS) {
        const nodes = data[k.key].edges.map((e) => e.node);
        const limit = expanded.has(k.key) ? nodes.length : PAGE;
        if (nodes.length > limit) more.push(k);
        for (const n of nodes.slice(0, limit)) {
          found.push({ kind: k.kind, code: n.code, name: n.name || n.address, extra: k.extra(n),
            location: n.location || null });
        }
      }
    }
    items = found.map((it, i) => ({ it, i, r: rank(it, q) })).sort((a, b) => a.r - b.r || a.i - b.i).map((x) => x.it);
    render(q, more);
  };

  input.addEventListener("input", () => { expanded.clear(); clearTimeout(timer); timer = setTimeout(run, 250); });
  input.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown") { e.preventDefault(); if (list.hidden) run(); else setActive(active + 1); }
    else if (e.key === "ArrowUp") { e.preventDefault(); setActive(active - 1); }
    else if (e.key === "Enter") {
      e.preventDefault();
      if (!list.hidden && active >= 0) pick(active);
      else { clearTimeout(timer); run().then(() => { if (items.length === 1 || (items.length && rank(items[0], input.value.trim()) === 0)) pick(0); }); }
    } else if (e.key === "Escape") close();
  });
  document.addEventListener("click", (e) => { if (!list.contains(e.target) && e.target !== input) close(); });
}

/** The geometry of a unit, for zooming to it and finding a point inside it. */
export async function geometryOf(kind, code) {
  const field = { station: "station", zone: "zone", grid: "grid", community: "community", township: "township" }[kind];
  const data = await gql(`query G($code: String!) { ${field}(code: $code) { geometry(precision: 7) } }`, { code });
  return data[field]?.geometry || null;
}

/** A point well inside a (Multi)Polygon: the midpoint of the widest inside stretch of a few
 *  horizontal scan lines (holes and other parts respected). Never the map centre. */
export function interiorPoint(geom) {
  const polys = geom.type === "Polygon" ? [geom.coordinates] : geom.type === "MultiPolygon" ? geom.coordinates : [];
  let best = null;
  for (const rings of polys) {
    let s = Infinity, n = -Infinity;
    for (const [, y] of rings[0]) { s = Math.min(s, y); n = Math.max(n, y); }
    for (let k = 1; k <= 9; k++) {
      const y = s + ((n - s) * k) / 10;
      const xs = [];
      for (const ring of rings) {
        for (let i = 0; i + 1 < ring.length; i++) {
          const [x1, y1] = ring[i], [x2, y2] = ring[i + 1];
          if ((y1 <= y) !== (y2 <= y)) xs.push(x1 + ((y - y1) * (x2 - x1)) / (y2 - y1));
        }
      }
      xs.sort((a, b) => a - b);
      for (let i = 0; i + 1 < xs.length; i += 2) {
        const w = xs[i + 1] - xs[i];
        if (!best || w > best.w) best = { w, lon: (xs[i] + xs[i + 1]) / 2, lat: y };
      }
    }
  }
  return best ? [best.lon, best.lat] : null;
}
