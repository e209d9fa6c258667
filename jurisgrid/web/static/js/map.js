// The map: one vector-tile source per /tiles layer, styled without any external base map
// (the county outline and townships are the light base), labels drawn with the device's own fonts
// (no glyph server: MapLibre renders them locally), layer toggles and a legend. An optional base
// map comes from the server's settings (off by default, so the map works offline).
/* global maplibregl */
import { authHeaders, bboxOf, caps, escapeHtml, getAsOf, gql } from "./api.js";
import { kindLabel, setTimeZone, t } from "./i18n.js";

// ten well-separated hues; neighbouring stations get different ones (greedy colouring of the
// station adjacency graph), the zones of a station shades of its hue
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
  "#17becf", "#bcbd22", "#7f7f7f"];
const KIND_COLOURS = { urban: "#e15759", rural: "#59a14f" };
// zone class under the current sizing policy (tile property `class`; absent in asOf tiles)
const CLASS_COLOURS = { "一类": "#d62728", "二类": "#ff7f0e", "三类": "#2ca02c" };
// a zone's workload against its station's mean: diverging, under-loaded blue, over-loaded red
const DEVIATION_BANDS = [[-Infinity, -0.3, "#2166ac"], [-0.3, -0.1, "#92c5de"], [-0.1, 0.1, "#f7f7f7"],
  [0.1, 0.3, "#f4a582"], [0.3, Infinity, "#b2182b"]];
const LABEL_FONT = ["Noto Sans CJK SC", "WenQuanYi Zen Hei", "Microsoft YaHei", "sans-serif"];
const HALO = { "text-halo-color": "#ffffff", "text-halo-width": 1.5 };

// what the user can switch on and off, in drawing order (bottom first)
export const LAYERS = [
  { id: "zones", on: true },
  { id: "townships", on: true },
  { id: "communities", on: false },
  { id: "grids", on: true },
  { id: "sectors", on: true },
  { id: "stations", on: true },
  { id: "addresses", on: false },
  { id: "incidents", on: false },
];

const state = { map: null, tiles: new Map(), stations: [], zones: [], stationColour: new Map(), zoneColour: "station",
  labels: true, deviation: null };

function tileUrl(layer) {
  const params = new URLSearchParams();
  const asOf = getAsOf();
  // only the historised layers take asOf (the listing says which); the others show the present
  if (asOf && caps.tilesAsOf && state.tiles.get(layer)?.asOf) params.set("asOf", asOf);
  const q = params.toString();
  return `${location.origin}/tiles/${layer}/{z}/{x}/{y}.mvt${q ? `?${q}` : ""}`;
}

/** Greedy colouring of the stations' adjacency (two stations touch when their outlines come
 *  within ~150 m): the most-connected first, each the first palette colour no neighbour has. */
function colourStations(stations) {
  const cell = 0.0015;
  const owners = new Map(); // grid cell → station indexes with a vertex there
  stations.forEach((st, i) => {
    const walk = (c) => {
      if (typeof c[0] === "number") {
        const key = `${Math.floor(c[0] / cell)}:${Math.floor(c[1] / cell)}`;
        if (!owners.has(key)) owners.set(key, new Set());
        owners.get(key).add(i);
      } else c.forEach(walk);
    };
    if (st.geometry) walk(st.geometry.coordinates);
  });
  const adj = stations.map(() => new Set());
  for (const [key, set] of owners) {
    const [x, y] = key.split(":").map(Number);
    for (let dx = -1; dx <= 1; dx++) {
      for (let dy = -1; dy <= 1; dy++) {
        const other = owners.get(`${x + dx}:${y + dy}`);
        if (!other) continue;
        for (const a of set) for (const b of other) if (a !== b) { adj[a].add(b); adj[b].add(a); }
      }
    }
  }
  const order = stations.map((_, i) => i).sort((a, b) => adj[b].size - adj[a].size || a - b);
  const colour = new Array(stations.length);
  for (const i of order) {
    const used = new Set([...adj[i]].map((j) => colour[j]).filter((c) => c !== undefined));
    colour[i] = PALETTE.findIndex((_, k) => !used.has(k));
    if (colour[i] < 0) colour[i] = i % PALETTE.length;
  }
  state.stationColour = new Map(stations.map((st, i) => [st.code, PALETTE[colour[i]]]));
}

/** A shade of a hex colour: `f` in [-1, 1] towards black or white. */
function shade(hex, f) {
  const n = parseInt(hex.slice(1), 16);
  const ch = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((c) => Math.round(f < 0 ? c * (1 + f) : c + (255 - c) * f));
  return `#${ch.map((c) => c.toString(16).padStart(2, "0")).join("")}`;
}

function stationColour(code) {
  return state.stationColour.get(code) || "#999999";
}

function stationColourExpr() {
  if (!state.stations.length) return "#4e79a7";
  const expr = ["match", ["get", "station_code"]];
  state.stations.forEach((s) => expr.push(s.code, stationColour(s.code)));
  expr.push("#999999");
  return expr;
}

/** Zones: their station's hue, each zone of a station a different shade of it. */
function zoneShadeExpr() {
  if (!state.zones.length) return stationColourExpr();
  const seen = new Map();
  const expr = ["match", ["get", "code"]];
  const shades = [0, -0.3, 0.35, -0.15, 0.2, -0.4, 0.5];
  for (const z of state.zones) {
    const k = seen.get(z.station) || 0;
    seen.set(z.station, k + 1);
    expr.push(z.code, shade(stationColour(z.station), shades[k % shades.length]));
  }
  expr.push(stationColourExpr());
  return expr;
}

function deviationBand(d) {
  return DEVIATION_BANDS.find(([lo, hi]) => d >= lo && d < hi)[2];
}

/** Each zone's workload deviation from its station's mean (sizing under the current policy). */
async function loadDeviation() {
  const data = await gql("{ zones(first: 1000) { edges { node { code station { code } sizing { workload } } } } }");
  const byStation = new Map();
  for (const { node: z } of data.zones.edges) {
    if (!byStation.has(z.station.code)) byStation.set(z.station.code, []);
    byStation.get(z.station.code).push(z);
  }
  const dev = new Map();
  for (const zones of byStation.values()) {
    const mean = zones.reduce((a, z) => a + z.sizing.workload, 0) / zones.length;
    for (const z of zones) dev.set(z.code, mean > 0 ? (z.sizing.workload - mean) / mean : 0);
  }
  state.deviation = dev;
}

function zoneFill() {
  if (state.zoneColour === "deviation" && state.deviation?.size) {
    const expr = ["match", ["get", "code"]];
    for (const [code, d] of state.deviation) expr.push(code, deviationBand(d));
    expr.push("#999999");
    return expr;
  }
  if (state.zoneColour === "kind") {
    return ["match", ["get", "kind"], "urban", KIND_COLOURS.urban, "rural", KIND_COLOURS.rural, "#999999"];
  }
  if (state.zoneColour === "class") {
    return ["match", ["coalesce", ["get", "class"], ""],
      ...Object.entries(CLASS_COLOURS).flat(), "#999999"];
  }
  return zoneShadeExpr();
}

function source(id) {
  const t = state.tiles.get(id);
  return { type: "vector", tiles: [tileUrl(id)], minzoom: t.minzoom, maxzoom: t.maxzoom };
}

function labelLayer(id, sourceId, minzoom, maxzoom, extra = {}) {
  return { id, type: "symbol", source: sourceId, "source-layer": sourceId, minzoom, maxzoom,
    layout: { "text-field": ["get", "name"], "text-font": LABEL_FONT, "text-size": 12,
      "text-max-width": 8, "symbol-placement": "point", "text-padding": 4, ...(extra.layout || {}) },
    paint: { "text-color": "#222", ...HALO, ...(extra.paint || {}) }, ...(extra.filter ? { filter: extra.filter } : {}) };
}

function style(outline, base) {
  const sources = {};
  for (const id of state.tiles.keys()) sources[id] = source(id);
  if (outline) sources.county = { type: "geojson", data: outline };
  sources.found = { type: "geojson", data: { type: "FeatureCollection", features: [] } };
  const has = (id) => state.tiles.has(id);
  const layers = [{ id: "background", type: "background", paint: { "background-color": "#eef1f4" } }];
  if (base) {
    sources.base = { type: "raster", tiles: [base.url], tileSize: base.tileSize || 256,
      attribution: base.attribution || "" };
    layers.push({ id: "base", type: "raster", source: "base" });
  } else if (outline) {
    layers.push({ id: "county-fill", type: "fill", source: "county", paint: { "fill-color": "#fbfaf6" } });
  }
  // fills first, then every edge above every fill: grid < community < township < zone < station
  if (has("zones")) {
    layers.push({ id: "zones-fill", type: "fill", source: "zones", "source-layer": "zones",
      paint: { "fill-color": zoneFill(), "fill-opacity": base ? 0.3 : 0.45 } });
  }
  if (has("grids")) {
    layers.push({ id: "grids-fill", type: "fill", source: "grids", "source-layer": "grids",
      paint: { "fill-color": "#000", "fill-opacity": 0 } });
    layers.push({ id: "grids-line", type: "line", source: "grids", "source-layer": "grids",
      paint: { "line-color": "#6f6f6f", "line-width": ["interpolate", ["linear"], ["zoom"], 10, 0.15, 15, 0.8],
        "line-dasharray": [2, 2] } });
    layers.push({ id: "grids-selected", type: "fill", source: "grids", "source-layer": "grids",
      filter: ["in", ["get", "code"], ["literal", []]],
      paint: { "fill-color": "#ffd400", "fill-opacity": 0.6, "fill-outline-color": "#b38f00" } });
  }
  if (has("communities")) {
    layers.push({ id: "communities-line", type: "line", source: "communities", "source-layer": "communities",
      paint: { "line-color": "#2e7d32", "line-width": 1, "line-dasharray": [3, 2] } });
  }
  if (has("townships")) {
    layers.push({ id: "townships-line", type: "line", source: "townships", "source-layer": "townships",
      paint: { "line-color": "#8d6e63", "line-width": 1.2, "line-dasharray": [4, 2, 1, 2] } });
  }
  if (has("zones")) {
    layers.push({ id: "zones-line", type: "line", source: "zones", "source-layer": "zones",
      paint: { "line-color": "#37474f", "line-width": ["interpolate", ["linear"], ["zoom"], 9, 0.6, 14, 1.6] } });
  }
  if (has("sectors")) {
    layers.push({ id: "sectors-line", type: "line", source: "sectors", "source-layer": "sectors",
      paint: { "line-color": "#8e24aa", "line-width": 6, "line-opacity": 0.35 } });
  }
  if (has("stations")) {
    layers.push({ id: "stations-line", type: "line", source: "stations", "source-layer": "stations",
      filter: ["==", ["get", "feature"], "area"],
      paint: { "line-color": "#0d2b5e", "line-width": ["interpolate", ["linear"], ["zoom"], 9, 1.8, 14, 3.5] } });
  }
  layers.push({ id: "found-fill", type: "fill", source: "found", paint: { "fill-color": "#00b0ff", "fill-opacity": 0.18 } });
  layers.push({ id: "found-line", type: "line", source: "found",
    paint: { "line-color": "#0091ea", "line-width": 3.5 } });
  if (has("stations")) {
    layers.push({ id: "stations-seat", type: "circle", source: "stations", "source-layer": "stations",
      filter: ["==", ["get", "feature"], "seat"],
      paint: { "circle-color": "#0d47a1", "circle-radius": 6, "circle-stroke-color": "#fff", "circle-stroke-width": 2 } });
  }
  if (has("addresses")) {
    layers.push({ id: "addresses-circle", type: "circle", source: "addresses", "source-layer": "addresses",
      paint: { "circle-color": "#ef6c00", "circle-opacity": 0.8,
        "circle-radius": ["interpolate", ["linear"], ["coalesce", ["get", "count"], 1], 1, 2.5, 100, 10] } });
  }
  if (has("incidents")) {
    layers.push({ id: "incidents-circle", type: "circle", source: "incidents", "source-layer": "incidents",
      paint: { "circle-color": "#c62828", "circle-opacity": 0.75,
        "circle-radius": ["interpolate", ["linear"], ["coalesce", ["get", "count"], 1], 1, 3, 50, 12] } });
  }
  // labels, each kind in its zoom band: townships (county view), zones, villages, stations on top
  if (has("townships")) {
    layers.push(labelLayer("townships-label", "townships", 9, 12.5,
      { layout: { "text-size": 13 }, paint: { "text-color": "#5d4037" } }));
  }
  if (has("zones")) {
    layers.push(labelLayer("zones-label", "zones", 12.5, 24,
      { layout: { "text-field": ["slice", ["get", "name"], 0, 10], "text-size": 12 }, paint: { "text-color": "#263238" } }));
  }
  if (has("communities")) {
    layers.push(labelLayer("communities-label", "communities", 13.5, 24,
      { layout: { "text-size": 11 }, paint: { "text-color": "#1b5e20" } }));
  }
  if (has("stations")) {
    layers.push(labelLayer("stations-label", "stations", 9, 24, {
      filter: ["==", ["get", "feature"], "seat"],
      layout: { "text-size": 13, "text-offset": [0, 1.2], "text-anchor": "top", "text-font": LABEL_FONT },
      paint: { "text-color": "#0d2b5e" } }));
  }
  return { version: 8, sources, layers };
}

function styleLayersOf(id) {
  return (state.map?.getStyle()?.layers || []).filter((l) => l.source === id).map((l) => l.id);
}

export function setLayerVisible(id, on) {
  for (const l of styleLayersOf(id)) {
    const label = l.endsWith("-label");
    state.map.setLayoutProperty(l, "visibility", on && (!label || state.labels) ? "visible" : "none");
  }
}

function setLabels(on) {
  state.labels = on;
  for (const l of LAYERS) if (state.tiles.has(l.id)) setLayerVisible(l.id, l.on);
}

/** Outline the unit found by search (GeoJSON in WGS 84), or clear it with null. */
export function highlight(geom) {
  const src = state.map?.getSource("found");
  if (src) src.setData(geom ? { type: "Feature", properties: {}, geometry: geom } : { type: "FeatureCollection", features: [] });
}

export async function setZoneColour(mode) {
  state.zoneColour = mode;
  if (mode === "deviation" && !state.deviation) {
    try { await loadDeviation(); } catch (err) { console.warn("no zone sizing:", err.message); state.deviation = new Map(); }
  }
  if (state.map.getLayer("zones-fill")) state.map.setPaintProperty("zones-fill", "fill-color", zoneFill());
  renderLegend();
}

export function setSelectedGrids(codes) {
  if (state.map.getLayer("grids-selected")) {
    state.map.setFilter("grids-selected", ["in", ["get", "code"], ["literal", codes]]);
  }
}

/** Reload the jurisdiction tiles (after an edit, or when asOf changes). Untouched tiles come back
 *  as 304 Not Modified: the server keys each tile's ETag on the edits that touched it. */
export function refreshTiles() {
  const run = () => {
    for (const id of state.tiles.keys()) {
      const src = state.map.getSource(id);
      if (!src) continue;
      const url = tileUrl(id);
      if (src.tiles?.[0] !== url) src.setTiles([url]);
      else state.map.refreshTiles(id);
    }
  };
  // after the next frame's style update: a filter change just before (the grid selection) pauses
  // the source until then, and a paused source only re-parses the tiles it has instead of fetching
  state.map.once("render", run);
  state.map.triggerRepaint();
}

function swatch(kind, colour) {
  const cls = kind === "line" ? "sw line" : kind === "dot" ? "sw dot" : "sw";
  return `<span class="${cls}" style="--c:${colour}"></span>`;
}

const LEGEND = {
  sectors: () => swatch("line", "#8e24aa") + t("legend.sector"),
  stations: () => swatch("line", "#0d2b5e") + t("legend.station") + " " + swatch("dot", "#0d47a1") + t("legend.seat"),
  grids: () => swatch("line", "#6f6f6f") + t("legend.grid") + " " + swatch("fill", "#ffd400") + t("legend.selected")
    + " " + swatch("line", "#0091ea") + t("legend.found"),
  townships: () => swatch("line", "#8d6e63") + t("layer.townships"),
  communities: () => swatch("line", "#2e7d32") + t("legend.community"),
  addresses: () => swatch("dot", "#ef6c00") + t("legend.address"),
  incidents: () => swatch("dot", "#c62828") + t("legend.incident"),
  zones: () => {
    const edge = swatch("line", "#37474f") + t("legend.zoneEdge") + "<br>";
    if (state.zoneColour === "kind") {
      return edge + Object.entries(KIND_COLOURS).map(([k, c]) => swatch("fill", c) + escapeHtml(kindLabel(k))).join(" ");
    }
    if (state.zoneColour === "deviation") {
      const pct = (v) => `${v > 0 ? "+" : ""}${Math.round(v * 100)}%`;
      return edge + `<div>${escapeHtml(t("legend.deviation"))}</div>` + DEVIATION_BANDS.map(([lo, hi, c]) =>
        `<div>${swatch("fill", c)}${lo === -Infinity ? `< ${pct(hi)}` : hi === Infinity ? `> ${pct(lo)}` : `${pct(lo)} … ${pct(hi)}`}</div>`).join("");
    }
    if (state.zoneColour === "class") {
      return edge + Object.entries(CLASS_COLOURS).map(([k, c]) => swatch("fill", c) + k).join(" ") +
        " " + swatch("fill", "#999999") + (getAsOf() ? t("legend.noClassPast") : t("legend.unclassed"));
    }
    return `${edge}<details><summary>${escapeHtml(t("legend.byStation", { n: state.stations.length }))}</summary>` +
      state.stations.map((s) => `<div>${swatch("fill", stationColour(s.code))}${escapeHtml(s.name)}</div>`).join("") +
      "</details>";
  },
};

export function renderLegend() {
  const el = document.getElementById("layers");
  const html = LAYERS.filter((l) => state.tiles.has(l.id)).map((l) => `
    <div class="layer">
      <label><input type="checkbox" data-layer="${l.id}" ${l.on ? "checked" : ""}> ${escapeHtml(t(`layer.${l.id}`))}</label>
      <div class="legend" data-legend="${l.id}">${LEGEND[l.id]()}</div>
    </div>`).join("");
  const missing = LAYERS.filter((l) => !state.tiles.has(l.id)).map((l) => l.id);
  el.innerHTML = html + (missing.length
    ? `<p class="notice">${escapeHtml(t("legend.noTiles", { ids: missing.join(", ") }))}</p>` : "") +
    `<div class="layer"><label><input type="checkbox" id="labels" ${state.labels ? "checked" : ""}> ${escapeHtml(t("layer.labels"))}</label></div>
    <div class="layer"><label for="zone-colour">${escapeHtml(t("colour.by"))}</label>
      <select id="zone-colour"><option value="station">${escapeHtml(t("colour.station"))}</option><option value="class">${escapeHtml(t("colour.class"))}</option><option value="kind">${escapeHtml(t("colour.kind"))}</option><option value="deviation">${escapeHtml(t("colour.deviation"))}</option></select>
    </div>`;
  el.querySelector("#zone-colour").value = state.zoneColour;
  el.querySelector("#zone-colour").onchange = (e) => setZoneColour(e.target.value);
  el.querySelector("#labels").onchange = (e) => setLabels(e.target.checked);
  el.querySelectorAll("input[data-layer]").forEach((box) => {
    box.onchange = () => {
      LAYERS.find((l) => l.id === box.dataset.layer).on = box.checked;
      setLayerVisible(box.dataset.layer, box.checked);
    };
  });
}

async function loadTileListing() {
  const res = await fetch("/tiles?asOf=2000-01-01T00:00:00Z", { headers: authHeaders() });
  if (!res.ok) throw new Error(`/tiles answered HTTP ${res.status}`);
  const body = await res.json();
  for (const l of body.layers) state.tiles.set(l.id, l);
  caps.tilesAsOf = body.layers.some((l) => String(l.tiles).includes("asOf"));
}

export function fitTo(geom, maxZoom = 16) {
  const [w, s, e, n] = bboxOf(geom);
  state.map.fitBounds([[w, s], [e, n]], { padding: 60, maxZoom, duration: 600 });
}

/** Build the map; resolves once the style has loaded. */
export async function createMap(container, status) {
  let outline = null;
  let base = null;
  try {
    // every county of the deployment (one, or a prefecture's many): outlines, names, time zone
    const data = await gql(`{ counties(first: 100) { edges { node { code name timeZone
        outline(simplify: 20, precision: 5) } } }
      stations(first: 1000) { edges { node { code name geometry(simplify: 60, precision: 4) } } }
      zones(first: 1000) { edges { node { code station { code } } } } }`);
    const counties = data.counties.edges.map((e) => e.node);
    outline = counties.length === 1 ? counties[0].outline
      : counties.length ? { type: "GeometryCollection", geometries: counties.map((c) => c.outline) } : null;
    if (counties.length) setTimeZone(counties[0].timeZone);
    state.stations = data.stations.edges.map((e) => e.node);
    state.zones = data.zones.edges.map((e) => ({ code: e.node.code, station: e.node.station.code }));
    colourStations(state.stations);
    if (counties.length) document.getElementById("county-name").textContent = counties.map((c) => c.name).join("、");
  } catch (err) {
    status(t("status.noCounty", { msg: err.message }));
  }
  try {
    await loadTileListing();
  } catch (err) {
    status(t("status.noTiles", { msg: err.message }));
  }
  try { // an optional base map from the server's settings (JURISGRID_BASEMAP_URL), off by default
    const cfg = JSON.parse(document.getElementById("basemap")?.textContent || "null");
    base = cfg?.url ? cfg : null;
  } catch { base = null; }
  const map = new maplibregl.Map({
    container,
    style: style(outline, base),
    center: [106.97, 30.84],
    zoom: 9,
    attributionControl: { compact: true, customAttribution: "jurisgrid" },
    // tiles need the token too when the server refuses anonymous reads
    transformRequest: (url) => (url.startsWith(location.origin) ? { url, headers: authHeaders() } : { url }),
  });
  state.map = map;
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-left");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
  map.on("error", (e) => {
    const msg = e.error?.message || String(e.error || e);
    status(t("status.mapError", { msg }));
    console.error("map error:", msg);
  });
  await new Promise((resolve) => map.once("load", resolve));
  if (outline) fitTo(outline, 12);
  for (const l of LAYERS) if (state.tiles.has(l.id)) setLayerVisible(l.id, l.on);
  renderLegend();
  hoverTooltip(map);
  return map;
}

function hoverTooltip(map) {
  const tip = document.getElementById("tooltip");
  const cursor = document.getElementById("cursor");
  const ids = ["stations-seat", "grids-fill", "zones-fill"].filter((id) => map.getLayer(id));
  map.on("mousemove", (e) => {
    if (cursor) cursor.textContent = `${t("cursor")} ${e.lngLat.lng.toFixed(5)}, ${e.lngLat.lat.toFixed(5)}`;
    const f = map.queryRenderedFeatures(e.point, { layers: ids })[0];
    if (!f) { tip.hidden = true; return; }
    const p = f.properties;
    tip.innerHTML = `<b>${escapeHtml(p.name)}</b> <code>${escapeHtml(p.code)}</code>`;
    const box = map.getContainer();
    tip.style.left = `${e.point.x + 12 + box.offsetLeft}px`;
    tip.style.top = `${e.point.y + 12 + box.offsetTop}px`;
    tip.hidden = false;
  });
  map.on("mouseout", () => { tip.hidden = true; });
}

export function getMap() {
  return state.map;
}
