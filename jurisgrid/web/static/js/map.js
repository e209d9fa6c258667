// The map: one vector-tile source per /tiles layer, styled without any external base map
// (the county outline and townships are the light base), layer toggles and a legend.
/* global maplibregl */
import { authHeaders, bboxOf, caps, escapeHtml, getAsOf, gql } from "./api.js";

const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
  "#ff9da7", "#9c755f", "#86bcb6", "#d37295", "#a0cbe8", "#8cd17d", "#f1ce63", "#bab0ac",
  "#499894", "#fabfd2", "#b6992d", "#d4a6c8", "#79706e", "#ffbe7d"];
const KIND_COLOURS = { urban: "#e15759", rural: "#59a14f" };
// zone class under the current sizing policy (tile property `class`; absent in asOf tiles)
const CLASS_COLOURS = { "一类": "#d62728", "二类": "#ff7f0e", "三类": "#2ca02c" };

// what the user can switch on and off, in drawing order (bottom first)
export const LAYERS = [
  { id: "zones", label: "Zones (责任区)", on: true },
  { id: "communities", label: "Communities (村/社区)", on: false },
  { id: "grids", label: "Grids (网格)", on: true },
  { id: "sectors", label: "Sectors (片区)", on: true },
  { id: "stations", label: "Stations (派出所)", on: true },
  { id: "addresses", label: "Address points", on: false },
  { id: "incidents", label: "Incidents (警情)", on: false },
];

const state = { map: null, tiles: new Map(), stations: [], zoneColour: "station" };

function tileUrl(layer) {
  const params = new URLSearchParams();
  const asOf = getAsOf();
  // only the historised layers take asOf (the listing says which); the others show the present
  if (asOf && caps.tilesAsOf && state.tiles.get(layer)?.asOf) params.set("asOf", asOf);
  const q = params.toString();
  return `${location.origin}/tiles/${layer}/{z}/{x}/{y}.mvt${q ? `?${q}` : ""}`;
}

function stationColourExpr() {
  const expr = ["match", ["get", "station_code"]];
  state.stations.forEach((s, i) => expr.push(s.code, PALETTE[i % PALETTE.length]));
  expr.push("#999999");
  return state.stations.length ? expr : "#4e79a7";
}

function zoneFill() {
  if (state.zoneColour === "kind") {
    return ["match", ["get", "kind"], "urban", KIND_COLOURS.urban, "rural", KIND_COLOURS.rural, "#999999"];
  }
  if (state.zoneColour === "class") {
    return ["match", ["coalesce", ["get", "class"], ""],
      ...Object.entries(CLASS_COLOURS).flat(), "#999999"];
  }
  return stationColourExpr();
}

function source(id) {
  const t = state.tiles.get(id);
  return { type: "vector", tiles: [tileUrl(id)], minzoom: t.minzoom, maxzoom: t.maxzoom };
}

function style(outline) {
  const sources = {};
  for (const id of state.tiles.keys()) sources[id] = source(id);
  if (outline) sources.county = { type: "geojson", data: outline };
  const has = (id) => state.tiles.has(id);
  const layers = [{ id: "background", type: "background", paint: { "background-color": "#eef1f4" } }];
  if (outline) {
    layers.push({ id: "county-fill", type: "fill", source: "county", paint: { "fill-color": "#fbfaf6" } });
  }
  if (has("townships")) {
    layers.push({ id: "townships-line", type: "line", source: "townships", "source-layer": "townships",
      paint: { "line-color": "#c9c2b2", "line-width": 1 } });
  }
  if (has("zones")) {
    layers.push({ id: "zones-fill", type: "fill", source: "zones", "source-layer": "zones",
      paint: { "fill-color": zoneFill(), "fill-opacity": 0.35 } });
    layers.push({ id: "zones-line", type: "line", source: "zones", "source-layer": "zones",
      paint: { "line-color": "#555", "line-width": 0.8 } });
  }
  if (has("communities")) {
    layers.push({ id: "communities-line", type: "line", source: "communities", "source-layer": "communities",
      paint: { "line-color": "#2e7d32", "line-width": 1, "line-dasharray": [3, 2] } });
  }
  if (has("grids")) {
    layers.push({ id: "grids-fill", type: "fill", source: "grids", "source-layer": "grids",
      paint: { "fill-color": "#000", "fill-opacity": 0 } });
    layers.push({ id: "grids-line", type: "line", source: "grids", "source-layer": "grids",
      paint: { "line-color": "#8a8a8a", "line-width": ["interpolate", ["linear"], ["zoom"], 10, 0.2, 15, 1] } });
    layers.push({ id: "grids-selected", type: "fill", source: "grids", "source-layer": "grids",
      filter: ["in", ["get", "code"], ["literal", []]],
      paint: { "fill-color": "#ffd400", "fill-opacity": 0.6, "fill-outline-color": "#b38f00" } });
  }
  if (has("sectors")) {
    layers.push({ id: "sectors-line", type: "line", source: "sectors", "source-layer": "sectors",
      paint: { "line-color": "#8e24aa", "line-width": 6, "line-opacity": 0.45 } });
  }
  if (has("stations")) {
    layers.push({ id: "stations-line", type: "line", source: "stations", "source-layer": "stations",
      filter: ["==", ["get", "feature"], "area"], paint: { "line-color": "#0d47a1", "line-width": 2 } });
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
  return { version: 8, sources, layers };
}

function styleLayersOf(id) {
  return (state.map?.getStyle()?.layers || []).filter((l) => l.source === id).map((l) => l.id);
}

export function setLayerVisible(id, on) {
  for (const l of styleLayersOf(id)) {
    state.map.setLayoutProperty(l, "visibility", on ? "visible" : "none");
  }
}

export function setZoneColour(mode) {
  state.zoneColour = mode;
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
  sectors: () => swatch("line", "#8e24aa") + "Sector boundary",
  stations: () => swatch("line", "#0d47a1") + "Station boundary " + swatch("dot", "#0d47a1") + "Station seat",
  grids: () => swatch("line", "#8a8a8a") + "Grid " + swatch("fill", "#ffd400") + "Selected",
  communities: () => swatch("line", "#2e7d32") + "Community boundary",
  addresses: () => swatch("dot", "#ef6c00") + "Address point (size: cluster count)",
  incidents: () => swatch("dot", "#c62828") + "Incident (size: cluster count)",
  zones: () => {
    if (state.zoneColour === "kind") {
      return Object.entries(KIND_COLOURS).map(([k, c]) => swatch("fill", c) + k).join(" ");
    }
    if (state.zoneColour === "class") {
      return Object.entries(CLASS_COLOURS).map(([k, c]) => swatch("fill", c) + k).join(" ") +
        " " + swatch("fill", "#999999") + (getAsOf() ? "no class as of a past instant" : "unclassed");
    }
    return `<details><summary>Zones coloured by station (${state.stations.length})</summary>` +
      state.stations.map((s, i) => `<div>${swatch("fill", PALETTE[i % PALETTE.length])}${escapeHtml(s.name)}</div>`).join("") +
      "</details>";
  },
};

export function renderLegend() {
  const el = document.getElementById("layers");
  const html = LAYERS.filter((l) => state.tiles.has(l.id)).map((l) => `
    <div class="layer">
      <label><input type="checkbox" data-layer="${l.id}" ${l.on ? "checked" : ""}> ${escapeHtml(l.label)}</label>
      <div class="legend" data-legend="${l.id}">${LEGEND[l.id]()}</div>
    </div>`).join("");
  const missing = LAYERS.filter((l) => !state.tiles.has(l.id)).map((l) => l.id);
  el.innerHTML = html + (missing.length
    ? `<p class="notice">No tiles for: ${missing.join(", ")} (the server's /tiles does not list them).</p>` : "") +
    `<div class="layer"><label>Colour zones by
      <select id="zone-colour"><option value="station">station</option><option value="class">class (一类/二类/三类)</option><option value="kind">kind (urban/rural)</option></select>
    </label></div>`;
  el.querySelector("#zone-colour").value = state.zoneColour;
  el.querySelector("#zone-colour").onchange = (e) => setZoneColour(e.target.value);
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
  try {
    const data = await gql(`{ county { code name outline(simplify: 20, precision: 5) } stations(first: 1000) { edges { node { code name } } } }`);
    outline = data.county?.outline || null;
    state.stations = data.stations.edges.map((e) => e.node);
    if (data.county) document.getElementById("county-name").textContent = data.county.name;
  } catch (err) {
    status(`Could not read the county: ${err.message}`);
  }
  try {
    await loadTileListing();
  } catch (err) {
    status(`Vector tiles unavailable (${err.message}); only the county outline is drawn.`);
  }
  const map = new maplibregl.Map({
    container,
    style: style(outline),
    center: [106.97, 30.84],
    zoom: 9,
    attributionControl: { compact: true, customAttribution: "jurisgrid demo data" },
    // tiles need the token too when the server refuses anonymous reads
    transformRequest: (url) => (url.startsWith(location.origin) ? { url, headers: authHeaders() } : { url }),
  });
  state.map = map;
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-left");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
  map.on("error", (e) => {
    const msg = e.error?.message || String(e.error || e);
    status(`Map error: ${msg}`);
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
  const ids = ["stations-seat", "grids-fill", "zones-fill"].filter((id) => map.getLayer(id));
  map.on("mousemove", (e) => {
    const f = map.queryRenderedFeatures(e.point, { layers: ids })[0];
    if (!f) { tip.hidden = true; return; }
    const p = f.properties;
    tip.innerHTML = `<b>${escapeHtml(p.name)}</b> <code>${escapeHtml(p.code)}</code>`;
    tip.style.left = `${e.point.x + 12}px`;
    tip.style.top = `${e.point.y + 12}px`;
    tip.hidden = false;
  });
  map.on("mouseout", () => { tip.hidden = true; });
}

export function getMap() {
  return state.map;
}
