// The station / zone panel: population and incident figures (the sizing part's `stats`) and a
// bar chart of the zones' workloads (`sizing.workload`), drawn as plain SVG. Without those
// fields on the server the panel says which figures are missing and charts what it has.
import { caps, escapeHtml, fmt, getAsOf, gql } from "./api.js";

const STATS = "stats { population households addressCount areaKm2 officers populationPerOfficer incidentsPerOfficer incidents { total } }";
const SIZING = "sizing { zoneClass workload recommendedOfficers }";

function zoneFields() {
  return `code name kind grids { code } officers { role }
    ${caps.stats ? STATS : ""} ${caps.sizing ? SIZING : ""}`;
}

// with asOf (when the server takes it on unit lookups) the panel shows that instant
const asOfArgs = () => (caps.asOfUnits && getAsOf()
  ? { decl: ", $asOf: DateTime", arg: ", asOf: $asOf", vars: { asOf: getAsOf() } }
  : { decl: "", arg: "", vars: {} });

const STATION_Q = (a) => `query P($code: String!${a.decl}) { station(code: $code${a.arg}) {
  code name kind phone sector { name } ${caps.stats ? STATS : ""}
  zones { ${zoneFields()} } } }`;

const ZONE_Q = (a) => `query P($code: String!${a.decl}) { zone(code: $code${a.arg}) {
  ${zoneFields()} hasOffice station { code name zones { ${zoneFields()} } } } }`;

/** The measure charted per zone: workload when sizing exists, else incidents, else grids. */
function measure() {
  if (caps.sizing) return { label: "workload", of: (z) => z.sizing?.workload ?? 0 };
  if (caps.stats) return { label: "incidents", of: (z) => z.stats?.incidents?.total ?? 0 };
  return { label: "grids", of: (z) => z.grids.length };
}

/** "巨光乡二区 (金土村、铜佛村…)" → "巨光乡二区": the villages listed in a zone's name are too long. */
const shortName = (name) => name.split(/\s*[（(]/)[0].slice(0, 12);

/** A horizontal bar chart (SVG) of the zones, the highlighted one in a stronger colour. */
export function barChart(zones, highlight) {
  const m = measure();
  const rows = zones.map((z) => ({ code: z.code, name: z.name, v: Number(m.of(z)) || 0 }))
    .sort((a, b) => b.v - a.v);
  const max = Math.max(1, ...rows.map((r) => r.v));
  const rowH = 18, labelW = 120, barW = 150, h = rows.length * rowH + 4;
  const bars = rows.map((r, i) => {
    const w = Math.max(1, (r.v / max) * barW);
    const y = i * rowH + 2;
    const cls = r.code === highlight ? "bar hl" : "bar";
    return `<g data-zone="${escapeHtml(r.code)}"><title>${escapeHtml(r.name)} (${escapeHtml(r.code)}): ${fmt(Math.round(r.v * 100) / 100)} ${m.label}</title>
      <text x="${labelW - 4}" y="${y + 12}" text-anchor="end">${escapeHtml(shortName(r.name))}</text>
      <rect class="${cls}" x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${rowH - 4}"></rect>
      <text x="${labelW + w + 3}" y="${y + 12}" class="val">${fmt(Math.round(r.v * 10) / 10)}</text></g>`;
  }).join("");
  return `<figure><figcaption>Zones by ${m.label}</figcaption>
    <svg class="chart" role="img" aria-label="zones by ${m.label}" width="${labelW + barW + 50}" height="${h}">${bars}</svg></figure>`;
}

function missingNote() {
  const miss = [];
  if (!caps.stats) miss.push("population and incident figures (<code>stats</code>)");
  if (!caps.sizing) miss.push("zone workloads (<code>sizing</code>)");
  return miss.length
    ? `<p class="notice">This server does not provide ${miss.join(" or ")} yet (the sizing part); the chart shows ${measure().label} per zone instead.</p>`
    : "";
}

function figures(u) {
  const officers = u.stats ? u.stats.officers : u.officers?.length;
  let rows = `<tr><th>Officers</th><td>${fmt(officers)}</td></tr>`;
  if (u.stats) {
    const s = u.stats;
    rows += `<tr><th>Population</th><td data-field="population">${fmt(s.population)}</td></tr>
      <tr><th>Households</th><td>${fmt(s.households)}</td></tr>
      <tr><th>Address points</th><td>${fmt(s.addressCount)}</td></tr>
      <tr><th>Incidents</th><td data-field="incidents">${fmt(s.incidents?.total)}</td></tr>
      <tr><th>Area</th><td>${s.areaKm2 != null ? `${s.areaKm2.toFixed(1)} km²` : "–"}</td></tr>
      <tr><th>Population / officer</th><td>${s.populationPerOfficer != null ? fmt(Math.round(s.populationPerOfficer)) : "–"}</td></tr>`;
  }
  if (u.sizing) {
    rows += `<tr><th>Class</th><td>${escapeHtml(u.sizing.zoneClass)}</td></tr>
      <tr><th>Workload</th><td>${fmt(Math.round(u.sizing.workload * 10) / 10)}</td></tr>
      <tr><th>Recommended officers</th><td>${fmt(u.sizing.recommendedOfficers)}</td></tr>`;
  }
  return `<table class="card-table">${rows}</table>`;
}

export async function showStation(el, code) {
  el.hidden = false;
  el.innerHTML = "<p>Loading station…</p>";
  try {
    const a = asOfArgs();
    const { station: s } = await gql(STATION_Q(a), { code, ...a.vars });
    if (!s) { el.innerHTML = `<p class="error">No station ${escapeHtml(code)}.</p>`; return; }
    el.innerHTML = `<h2>${escapeHtml(s.name)} <code>${escapeHtml(s.code)}</code></h2>${a.vars.asOf ? `<p class="coords">as of ${escapeHtml(a.vars.asOf)}</p>` : ""}
      <p>Station · ${escapeHtml(s.kind)} · sector ${escapeHtml(s.sector.name)}${s.phone ? ` · ☎ ${escapeHtml(s.phone)}` : ""} · ${s.zones.length} zones</p>
      ${figures({ ...s, officers: s.zones.flatMap((z) => z.officers) })}
      ${missingNote()}${barChart(s.zones, null)}`;
    el.dataset.station = s.code;
  } catch (err) {
    el.innerHTML = `<p class="error">Could not load station ${escapeHtml(code)}: ${escapeHtml(err.message)}</p>`;
  }
}

export async function showZone(el, code) {
  el.hidden = false;
  el.innerHTML = "<p>Loading zone…</p>";
  try {
    const a = asOfArgs();
    const { zone: z } = await gql(ZONE_Q(a), { code, ...a.vars });
    if (!z) { el.innerHTML = `<p class="error">No zone ${escapeHtml(code)}.</p>`; return; }
    el.innerHTML = `<h2>${escapeHtml(z.name)} <code>${escapeHtml(z.code)}</code></h2>${a.vars.asOf ? `<p class="coords">as of ${escapeHtml(a.vars.asOf)}</p>` : ""}
      <p>Zone · ${escapeHtml(z.kind)}${z.hasOffice ? " · has a 警务室" : ""} · ${z.grids.length} grids ·
        station <a href="#" data-station="${escapeHtml(z.station.code)}">${escapeHtml(z.station.name)}</a></p>
      ${figures(z)}${missingNote()}${barChart(z.station.zones, z.code)}`;
    el.querySelector("a[data-station]").onclick = (e) => { e.preventDefault(); showStation(el, z.station.code); };
  } catch (err) {
    el.innerHTML = `<p class="error">Could not load zone ${escapeHtml(code)}: ${escapeHtml(err.message)}</p>`;
  }
}
