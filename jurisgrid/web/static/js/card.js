// The responsibility card: click anywhere on the map (or "locate me", or a search result) →
// who is responsible there (GraphQL `responsibleFor`, with `asOf` when the server supports it).
/* global maplibregl */
import { asOfVars, caps, escapeHtml, getAsOf, gql } from "./api.js";
import { kindLabel, num, roleLabel, roleRank, t, when } from "./i18n.js";

const QUERY = (withAsOf) => `query Card($lon: Float!, $lat: Float!, $crs: Crs!${withAsOf ? ", $asOf: DateTime" : ""}) {
  responsibleFor(lon: $lon, lat: $lat, crs: $crs${withAsOf ? ", asOf: $asOf" : ""}) {
    onBoundary distanceToBoundaryM
    grid { code name } zone { code name } station { code name phone }
    community { code name kind } township { name } sector { name }
    officers { role person { name phone } }
    nearest { grid { code name } distanceM }
    neighbours(withinM: 5) { distanceM grid { code name zone { code name station { code name phone } } } }
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
  return `<tr><th scope="row">${escapeHtml(label)}</th><td>${value}</td></tr>`;
}

/** A phone number people can tap to call. */
export function tel(phone) {
  if (!phone) return "";
  const digits = String(phone).replace(/[^\d+]/g, "");
  return `<a class="tel" href="tel:${escapeHtml(digits)}" aria-label="${escapeHtml(t("card.call", { phone }))}">☎ ${escapeHtml(phone)}</a>`;
}

function unit(u, kind) {
  if (!u) return `<em>${escapeHtml(t("card.none"))}</em>`;
  const link = kind ? ` <a href="#" data-open="${kind}" data-code="${escapeHtml(u.code)}">${escapeHtml(t("card.figures"))}</a>` : "";
  return `${escapeHtml(u.name)} <code>${escapeHtml(u.code || "")}</code>${link}`;
}

/** Within a few metres of a boundary: who answers just across it (other zones and stations). */
function neighboursHtml(r) {
  const own = r.zone?.code;
  const across = (r.neighbours || []).filter((n) => n.grid.zone.code !== own || !r.grid);
  if (!across.length) return "";
  const items = across.map((n) => {
    const z = n.grid.zone, st = z.station;
    const other = st.code !== r.station?.code;
    return `<li data-neighbour="${escapeHtml(n.grid.code)}">${escapeHtml(t("card.neighbourAt", { d: num(n.distanceM, 1) }))}
      ${escapeHtml(z.name)} <code>${escapeHtml(z.code)}</code>${other ? ` · ${escapeHtml(st.name)}${st.phone ? ` ${tel(st.phone)}` : ""}` : ""}</li>`;
  }).join("");
  return `<h3>${escapeHtml(t("card.neighbours"))}</h3><ul class="neighbours">${items}</ul>`;
}

export function renderCard(el, r, lon, lat) {
  const people = [...r.officers].sort((a, b) => roleRank(a.role) - roleRank(b.role));
  const officers = people.length
    ? `<ul>${people.map((o) => `<li data-role="${escapeHtml(o.role)}">${escapeHtml(o.person.name)} <small>${escapeHtml(roleLabel(o.role))}</small>${o.person.phone ? ` ${tel(o.person.phone)}` : ""}</li>`).join("")}</ul>`
    : `<em>${escapeHtml(t("card.noneRecorded"))}</em>`;
  const dist = r.distanceToBoundaryM === null || r.distanceToBoundaryM === undefined
    ? "–" : `${num(r.distanceToBoundaryM, 1)} m`;
  const asOf = getAsOf() && caps.asOf ? ` · ${escapeHtml(t("card.asOf", { at: when(getAsOf()) }))}` : "";
  let notice = "";
  if (!r.grid) {
    const near = r.nearest
      ? t("card.nearest", { code: r.nearest.grid.code, name: r.nearest.grid.name, d: num(r.nearest.distanceM) }) : "";
    notice = `<p class="notice" data-outside>${escapeHtml(t("card.noGrid") + near)}</p>`;
  }
  el.innerHTML = `
    <h2>${escapeHtml(t("card.title"))}</h2>
    <p class="coords">${lon.toFixed(6)}, ${lat.toFixed(6)}${asOf}</p>
    ${notice}
    <table class="card-table">
      ${row(t("card.station"), unit(r.station, "station") + (r.station?.phone ? ` ${tel(r.station.phone)}` : ""))}
      ${row(t("card.zone"), unit(r.zone, "zone"))}
      ${row(t("card.grid"), unit(r.grid))}
      ${row(t("card.community"), unit(r.community) + (r.community?.kind ? ` <small>${escapeHtml(kindLabel(r.community.kind))}</small>` : ""))}
      ${row(t("card.township"), r.township ? escapeHtml(r.township.name) : "–")}
      ${row(t("card.sector"), r.sector ? escapeHtml(r.sector.name) : "–")}
      ${row(t("card.onBoundary"), `<span data-field="onBoundary" data-value="${r.onBoundary ? "yes" : "no"}">${escapeHtml(t(r.onBoundary ? "yes" : "no"))}</span>`)}
      ${row(t("card.toBoundary"), dist)}
      ${row(t("card.officers"), officers)}
    </table>${neighboursHtml(r)}`;
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

/** Look up a point and show its card; resolves to the answer. `crs` is the system the point is
 *  given in (the server converts it); `at` is where to draw the marker (WGS 84). */
export async function showCard(map, el, lon, lat, { crs = "WGS84", at = null } = {}) {
  if (!marker) marker = new maplibregl.Marker({ color: "#d81b60" });
  marker.setLngLat(at || [lon, lat]).addTo(map);
  el.hidden = false;
  el.innerHTML = `<p>${escapeHtml(t("card.lookingUp"))}</p>`;
  try {
    const vars = { lon, lat, crs, ...asOfVars() };
    const data = await gql(QUERY("asOf" in vars), vars);
    const [mlon, mlat] = at || [lon, lat];
    renderCard(el, data.responsibleFor, mlon, mlat);
    return data.responsibleFor;
  } catch (err) {
    el.innerHTML = `<p class="error">${escapeHtml(t("card.failed", { msg: err.message }))}</p>`;
    return null;
  }
}
