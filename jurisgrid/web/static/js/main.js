// Wires the parts together: map, card, search, panel, edit, the asOf slider, the language
// switch, the phone/tablet panels and "locate me".
import { caps, loadCapabilities } from "./api.js";
import { renderCard, setCardLinks, showCard } from "./card.js";
import { toWgs84 } from "./crs.js";
import { initEdit, isSelecting, onMapClick, selectedGrids, toggleGrid } from "./edit.js";
import { getLang, setLang, t, translatePage } from "./i18n.js";
import { createMap, fitTo, getMap, highlight, refreshTiles, renderLegend, setSelectedGrids } from "./map.js";
import { showStation, showZone } from "./panel.js";
import { geometryOf, initSearch, interiorPoint } from "./search.js";
import { initTimeline, loadTimeline } from "./timeline.js";

const $ = (id) => document.getElementById(id);
const status = (msg) => { $("status").textContent = msg; $("status").hidden = !msg; };

let lastPoint = null;

async function lookup(lon, lat, opts = {}) {
  lastPoint = [lon, lat, opts];
  showRight();
  return showCard(getMap(), $("card"), lon, lat, opts);
}

/** The right-hand panel (a floating panel on tablets, a bottom sheet on phones) is shown only
 *  when one of its sections has something to show. */
function syncRight() {
  const want = ![...$("right").querySelectorAll("section")].some((s) => !s.hidden);
  // only on a change: setting `hidden` to the value it has would notify observers again
  if ($("right").hidden !== want) $("right").hidden = want;
  document.body.classList.toggle("no-right", $("right").hidden);
}
/** Show the panel (after the user closed it, too); the caller is about to fill a section. */
function showRight() {
  if ($("right").hidden) $("right").hidden = false;
  document.body.classList.remove("no-right");
}

async function pick(item) {
  const map = getMap();
  if (item.kind === "point") {
    const at = toWgs84(item.lon, item.lat, item.crs);
    highlight(null);
    map.flyTo({ center: at, zoom: 16, duration: 600 });
    await lookup(item.lon, item.lat, { crs: item.crs, at });
    return;
  }
  if (item.kind === "address") {
    highlight({ type: "Point", coordinates: item.location.coordinates });
    map.flyTo({ center: item.location.coordinates, zoom: 17, duration: 600 });
    await lookup(...item.location.coordinates);
    return;
  }
  const geom = await geometryOf(item.kind, item.code).catch(() => null);
  highlight(geom);
  if (geom) fitTo(geom);
  if (item.kind === "station") { showRight(); await showStation($("panel"), item.code); }
  else if (item.kind === "zone") { showRight(); await showZone($("panel"), item.code); }
  else if (geom) {
    // the card of a point inside the unit found — never of the map centre mid-flight
    const p = interiorPoint(geom);
    if (p) await lookup(p[0], p[1]);
  }
}

function locateMe() {
  if (!navigator.geolocation) { status(t("locate.unsupported")); return; }
  const btn = $("locate");
  btn.disabled = true;
  btn.setAttribute("aria-busy", "true");
  navigator.geolocation.getCurrentPosition(async (pos) => {
    btn.disabled = false;
    btn.removeAttribute("aria-busy");
    const { longitude: lon, latitude: lat } = pos.coords;
    getMap().flyTo({ center: [lon, lat], zoom: Math.max(getMap().getZoom(), 15), duration: 600 });
    highlight(null);
    await lookup(lon, lat);
  }, (err) => {
    btn.disabled = false;
    btn.removeAttribute("aria-busy");
    status(t("locate.failed", { msg: err.message }));
  }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 10000 });
}

function wireChrome() {
  translatePage();
  $("lang").onclick = () => { setLang(getLang() === "zh" ? "en" : "zh"); location.reload(); };
  const layersBtn = $("toggle-layers");
  const narrow = window.matchMedia("(max-width: 1099px)");
  const setSidebar = (open) => {
    $("sidebar").hidden = !open;
    layersBtn.setAttribute("aria-expanded", String(open));
  };
  setSidebar(!narrow.matches);
  narrow.addEventListener("change", (e) => setSidebar(!e.matches));
  layersBtn.onclick = () => setSidebar($("sidebar").hidden);
  document.querySelectorAll("[data-close]").forEach((b) => {
    b.onclick = () => {
      if (b.dataset.close === "sidebar") setSidebar(false);
      else { $("right").hidden = true; document.body.classList.add("no-right"); }
    };
  });
  // a section shown or hidden by its module (card, panel, edit) shows or hides the panel
  const sections = new MutationObserver(syncRight);
  $("right").querySelectorAll("section").forEach((s) => sections.observe(s, { attributes: true, attributeFilter: ["hidden"] }));
  $("locate").onclick = locateMe;
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && narrow.matches && !$("sidebar").hidden) setSidebar(false);
  });
}

function busyIndicator(map) {
  const el = $("busy");
  let timer = null;
  const update = () => {
    clearTimeout(timer);
    // a short delay: a tile served from cache does not flash the indicator
    timer = setTimeout(() => { el.hidden = map.areTilesLoaded(); }, 150);
  };
  map.on("dataloading", update);
  map.on("idle", () => { clearTimeout(timer); el.hidden = true; });
}

async function main() {
  wireChrome();
  try {
    await loadCapabilities();
  } catch (err) {
    $("busy").hidden = true;
    status(t("status.noApi", { msg: err.message }));
    return;
  }
  const map = await createMap("map", status);
  busyIndicator(map);
  setCardLinks((code) => { showRight(); showStation($("panel"), code); },
    (code) => { showRight(); showZone($("panel"), code); });
  map.on("click", (e) => {
    if (isSelecting()) {
      const f = map.queryRenderedFeatures(e.point, { layers: ["grids-fill"] })[0];
      if (f) toggleGrid(f.properties.code, f.properties.zone_code);
      return;
    }
    if (onMapClick(e, map)) return; // the editor is picking a target zone
    highlight(null);
    lookup(e.lngLat.lng, e.lngLat.lat);
  });
  initSearch($("search"), $("results"), pick);
  await initTimeline((asOf) => {
    $("asof-note").hidden = !asOf;
    $("asof-note").textContent = caps.tilesAsOf ? t("asof.notePast") : t("asof.noteNoTiles");
    if (caps.tilesAsOf) refreshTiles();
    renderLegend();
    if (lastPoint) lookup(lastPoint[0], lastPoint[1], lastPoint[2]);
    const panel = $("panel");
    if (!panel.hidden && panel.dataset.station) showStation(panel, panel.dataset.station);
  });
  await initEdit({
    onSelection: (codes) => setSelectedGrids(codes),
    onShow: showRight,
    onCommitted: (r) => {
      refreshTiles();
      highlight(r?.changedArea || null); // what the edit changed, outlined
      loadTimeline(); // a new revision: a new stop; back to "now"
      $("asof-note").hidden = true;
      if (lastPoint) lookup(lastPoint[0], lastPoint[1], lastPoint[2]);
      const panel = $("panel");
      if (!panel.hidden && panel.dataset.station) showStation(panel, panel.dataset.station);
    },
  });
  syncRight();
  // for the browser tests and the curious: the map and a few entry points
  window.jurisgrid = { map, caps, lookup, renderCard, selectedGrids, ready: true };
  document.body.dataset.ready = "true";
}

main().catch((err) => {
  status(t("status.startFailed", { msg: err.message }));
  console.error(err);
});
