// Wires the parts together: map, card, search, panel, edit, the asOf slider.
import { caps, loadCapabilities } from "./api.js";
import { renderCard, setCardLinks, showCard } from "./card.js";
import { initEdit, isSelecting, selectedGrids, toggleGrid } from "./edit.js";
import { createMap, fitTo, getMap, refreshTiles, renderLegend, setSelectedGrids } from "./map.js";
import { showStation, showZone } from "./panel.js";
import { geometryOf, initSearch } from "./search.js";
import { initTimeline, loadTimeline } from "./timeline.js";

const $ = (id) => document.getElementById(id);
const status = (msg) => { $("status").textContent = msg; $("status").hidden = !msg; };

let lastPoint = null;

async function lookup(lon, lat) {
  lastPoint = [lon, lat];
  return showCard(getMap(), $("card"), lon, lat);
}

async function pick(item) {
  const map = getMap();
  if (item.kind === "address") {
    map.flyTo({ center: item.location.coordinates, zoom: 17, duration: 600 });
    await lookup(...item.location.coordinates);
    return;
  }
  const geom = await geometryOf(item.kind, item.code).catch(() => null);
  if (geom) fitTo(geom);
  if (item.kind === "station") await showStation($("panel"), item.code);
  else if (item.kind === "zone") await showZone($("panel"), item.code);
  else if (geom) {
    const c = map.getCenter();
    await lookup(c.lng, c.lat);
  }
}

async function main() {
  try {
    await loadCapabilities();
  } catch (err) {
    status(`Cannot reach the GraphQL API: ${err.message}`);
    return;
  }
  const map = await createMap("map", status);
  setCardLinks((code) => showStation($("panel"), code), (code) => showZone($("panel"), code));
  map.on("click", (e) => {
    if (isSelecting()) {
      const f = map.queryRenderedFeatures(e.point, { layers: ["grids-fill"] })[0];
      if (f) toggleGrid(f.properties.code);
      return;
    }
    lookup(e.lngLat.lng, e.lngLat.lat);
  });
  initSearch($("search"), $("results"), pick);
  await initTimeline((asOf) => {
    $("asof-note").hidden = !asOf;
    $("asof-note").textContent = caps.tilesAsOf
      ? "As of a past instant the map shows grids, zones, stations and communities then; sectors, address points and incidents have no history and show the present, and zone classes and figures are not shown."
      : "The tiles show today's boundaries: this server's tiles do not take asOf yet. Cards and panels use the chosen instant.";
    if (caps.tilesAsOf) refreshTiles();
    renderLegend();
    if (lastPoint) lookup(...lastPoint);
    const panel = $("panel");
    if (!panel.hidden && panel.dataset.station) showStation(panel, panel.dataset.station);
  });
  await initEdit({
    onSelection: (codes) => setSelectedGrids(codes),
    onCommitted: () => {
      refreshTiles();
      loadTimeline(); // a new revision: a new stop; back to "now"
      $("asof-note").hidden = true;
      if (lastPoint) lookup(...lastPoint);
      const panel = $("panel");
      if (!panel.hidden && panel.dataset.station) showStation(panel, panel.dataset.station);
    },
  });
  // for the browser tests and the curious: the map and a few entry points
  window.jurisgrid = { map, caps, lookup, renderCard, selectedGrids, ready: true };
  document.body.dataset.ready = "true";
}

main().catch((err) => {
  status(`The map failed to start: ${err.message}`);
  console.error(err);
});
