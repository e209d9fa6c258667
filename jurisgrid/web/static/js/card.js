// The responsibility card: click anywhere on the map → who is responsible there
// (GraphQL `responsibleFor`, with `asOf` when the server supports it).
/* global maplibregl */
import { asOfVars, caps, escapeHtml, getAsOf, gql } from "./api.js";

const QUERY = (withAsOf) => `query Card($lon: Float!, $lat: Float!${withAsOf ? ", $asOf: DateTime" : ""}) {
  responsibleFor(lon: $lon, lat: $lat${withAsOf ? ", asOf: $asOf" : ""}) {
    onBoundary distanceToBoundaryM
    grid { code name } zone { code name } station { code name phone }
    community { code name } township { name } sector { name }
    officers { role person { name phone } }
    nearest { grid { code name } distanceM }
  }
}`;

let marker = null;
let onStation = () => {};
let onZone = () => {};

/** Hooks the station/zone names in the card to the panel. */
export function setCardLinks(station, zone) {
  onStation = station;
  onZone = zone;
}

function row(label, value) {
  return `<tr><th>${label}</th><td>${value}</td></tr>`;
}

function unit(u, kind) {
  if (!u) return "<em>none</em>";
  const link = kind ? ` <a href="#" data-open="${kind}" data-code="${escapeHtml(u.code)}">figures ›</a>` : "";
  return `${escapeHtml(u.name)} <code>${escapeHtml(u.code || "")}</code>${link}`;
}

export function renderCard(el, r, lon, lat) {
  const officers = r.officers.length
    ? `<ul>${r.officers.map((o) => `<li>${escapeHtml(o.person.name)} <small>${escapeHtml(o.role)}${o.person.phone ? ` · ${escapeHtml(o.person.phone)}` : ""}</small></li>`).join("")}</ul>`
    : "<em>none recorded</em>";
  const dist = r.distanceToBoundaryM === null || r.distanceToBoundaryM === undefined
    ? "–" : `${r.distanceToBoundaryM.toFixed(1)} m`;
  el.innerHTML = `
    <h2>Responsible here</h2>
    <p class="coords">${lon.toFixed(6)}, ${lat.toFixed(6)}${getAsOf() && caps.asOf ? ` · as of ${escapeHtml(getAsOf())}` : ""}</p>
    ${r.grid ? "" : `<p class="notice">This point is in no grid${r.nearest ? `; nearest grid ${escapeHtml(r.nearest.grid.code)} at ${r.nearest.distanceM.toFixed(0)} m` : ""}.</p>`}
    <table class="card-table">
      ${row("Station", unit(r.station, "station") + (r.station?.phone ? ` <small>☎ ${escapeHtml(r.station.phone)}</small>` : ""))}
      ${row("Zone", unit(r.zone, "zone"))}
      ${row("Grid", unit(r.grid))}
      ${row("Community", unit(r.community))}
      ${row("Township", r.township ? escapeHtml(r.township.name) : "–")}
      ${row("Sector", r.sector ? escapeHtml(r.sector.name) : "–")}
      ${row("On boundary", `<span data-field="onBoundary">${r.onBoundary ? "yes" : "no"}</span>`)}
      ${row("To boundary", dist)}
      ${row("Officers", officers)}
    </table>`;
  el.dataset.grid = r.grid?.code || "";
  el.dataset.zone = r.zone?.code || "";
  el.dataset.station = r.station?.code || "";
  el.querySelectorAll("a[data-open]").forEach((a) => {
    a.onclick = (ev) => {
      ev.preventDefault();
      (a.dataset.open === "station" ? onStation : onZone)(a.dataset.code);
    };
  });
}

/** Look up a point and show its card; resolves to the answer. */
export async function showCard(map, el, lon, lat) {
  if (!marker) marker = new maplibregl.Marker({ color: "#d81b60" });
  marker.setLngLat([lon, lat]).addTo(map);
  el.hidden = false;
  el.innerHTML = "<p>Looking up…</p>";
  try {
    const vars = { lon, lat, ...asOfVars() };
    const data = await gql(QUERY("asOf" in vars), vars);
    renderCard(el, data.responsibleFor, lon, lat);
    return data.responsibleFor;
  } catch (err) {
    el.innerHTML = `<p class="error">Lookup failed: ${escapeHtml(err.message)}</p>`;
    return null;
  }
}
