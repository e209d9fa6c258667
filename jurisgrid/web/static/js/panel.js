// The station / zone panel: population and incident figures (`stats`), a bar chart of the zones'
// workloads (`sizing.workload`, drawn as plain SVG) and the planner's zone table — population,
// incidents, workload (with its definition), class, assigned vs recommended officers and the
// deviation from the station's mean — sortable, exportable to CSV and linked to the map.
import { caps, escapeHtml, getAsOf, gql } from "./api.js";
import { compareSection } from "./compare.js";
import { kindLabel, num, t, when } from "./i18n.js";
import { fitTo, highlight } from "./map.js";
import { geometryOf } from "./search.js";

const STATS = "stats { population households addressCount areaKm2 officers populationPerOfficer incidentsPerOfficer incidents { total } }";
const SIZING = "sizing { zoneClass workload recommendedOfficers }";

function zoneFields() {
  return `code name kind grids { code } officers { role }
    ${caps.stats ? STATS : ""} ${caps.sizing ? SIZING : ""}`;
}

// with asOf (when the server takes it on unit lookups) the panel shows that instant; figures
// (stats, sizing) are current only, so they are left out under asOf
const asOfArgs = () => (caps.asOfUnits && getAsOf()
  ? { decl: ", $asOf: DateTime", arg: ", asOf: $asOf", vars: { asOf: getAsOf() } }
  : { decl: "", arg: "", vars: {} });

const STATION_Q = (a) => `query P($code: String!${a.decl}) { station(code: $code${a.arg}) {
  code name kind phone sector { name } ${caps.stats && !a.vars.asOf ? STATS : ""}
  zones { ${a.vars.asOf ? "code name kind grids { code } officers { role }" : zoneFields()} } } }`;

const ZONE_Q = (a) => `query P($code: String!${a.decl}) { zone(code: $code${a.arg}) {
  ${a.vars.asOf ? "code name kind grids { code } officers { role }" : zoneFields()} hasOffice
  station { code name zones { ${a.vars.asOf ? "code name kind grids { code } officers { role }" : zoneFields()} } } } }`;

/** The measure charted per zone: workload when sizing exists, else incidents, else grids. */
function measure() {
  if (caps.sizing && !getAsOf()) return { key: "workload", of: (z) => z.sizing?.workload ?? 0 };
  if (caps.stats && !getAsOf()) return { key: "incidents", of: (z) => z.stats?.incidents?.total ?? 0 };
  return { key: "grids", of: (z) => z.grids.length };
}

/** "巨光乡二区 (金土村、铜佛村…)" → "巨光乡二区": the villages listed in a zone's name are too long. */
const shortName = (name) => name.split(/\s*[（(]/)[0].slice(0, 12);

/** A horizontal bar chart (SVG) of the zones, the highlighted one in a stronger colour. */
export function barChart(zones, highlightCode) {
  const m = measure();
  const label = t(`panel.measure.${m.key}`);
  const rows = zones.map((z) => ({ code: z.code, name: z.name, v: Number(m.of(z)) || 0 }))
    .sort((a, b) => b.v - a.v);
  const max = Math.max(1, ...rows.map((r) => r.v));
  const rowH = 18, labelW = 120, barW = 150, h = rows.length * rowH + 4;
  const bars = rows.map((r, i) => {
    const w = Math.max(1, (r.v / max) * barW);
    const y = i * rowH + 2;
    const cls = r.code === highlightCode ? "bar hl" : "bar";
    return `<g data-zone="${escapeHtml(r.code)}"><title>${escapeHtml(r.name)} (${escapeHtml(r.code)}): ${num(r.v, 2)} ${escapeHtml(label)}</title>
      <text x="${labelW - 4}" y="${y + 12}" text-anchor="end">${escapeHtml(shortName(r.name))}</text>
      <rect class="${cls}" x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${rowH - 4}"></rect>
      <text x="${labelW + w + 3}" y="${y + 12}" class="val">${num(r.v, 1)}</text></g>`;
  }).join("");
  const def = m.key === "workload" ? `<p class="coords">${escapeHtml(t("panel.workloadDef"))}</p>` : "";
  return `<figure><figcaption>${escapeHtml(t("panel.chartBy", { measure: label }))}</figcaption>${def}
    <svg class="chart" role="img" aria-label="${escapeHtml(t("panel.chartBy", { measure: label }))}" width="${labelW + barW + 50}" height="${h}">${bars}</svg></figure>`;
}

function missingNote() {
  const miss = [];
  if (!caps.stats) miss.push(t("panel.missingStats"));
  if (!caps.sizing) miss.push(t("panel.missingSizing"));
  return miss.length
    ? `<p class="notice">${escapeHtml(t("panel.missing", { what: miss.join(" / "), measure: t(`panel.measure.${measure().key}`) }))}</p>`
    : "";
}

function figures(u) {
  const officers = u.stats ? u.stats.officers : u.officers?.length;
  const r = (key, v, field) => `<tr><th scope="row">${escapeHtml(t(key))}</th><td${field ? ` data-field="${field}"` : ""}>${v}</td></tr>`;
  let rows = r("panel.officers", num(officers));
  if (u.stats) {
    const s = u.stats;
    rows += r("panel.population", num(s.population), "population") + r("panel.households", num(s.households))
      + r("panel.addresses", num(s.addressCount)) + r("panel.incidents", num(s.incidents?.total), "incidents")
      + r("panel.area", s.areaKm2 != null ? `${num(s.areaKm2, 1)} km²` : "–")
      + r("panel.popPerOfficer", s.populationPerOfficer != null ? num(s.populationPerOfficer) : "–");
  }
  if (u.sizing) {
    rows += r("panel.class", escapeHtml(u.sizing.zoneClass)) + r("panel.workload", num(u.sizing.workload, 1))
      + r("panel.recommended", num(u.sizing.recommendedOfficers));
  }
  return `<table class="card-table">${rows}</table>`;
}

const COLUMNS = [
  { key: "name", label: "card.zone", of: (z) => shortName(z.name), text: true },
  { key: "population", label: "panel.population", of: (z) => z.stats?.population },
  { key: "incidents", label: "panel.incidents", of: (z) => z.stats?.incidents?.total },
  { key: "workload", label: "panel.workload", of: (z) => z.sizing?.workload, digits: 1 },
  { key: "class", label: "panel.class", of: (z) => z.sizing?.zoneClass, text: true },
  { key: "assigned", label: "panel.assigned", of: (z) => z.officers.length },
  { key: "recommended", label: "panel.recommended", of: (z) => z.sizing?.recommendedOfficers },
  { key: "gap", label: "panel.gap", of: (z) => (z.sizing ? z.officers.length - z.sizing.recommendedOfficers : null) },
  { key: "deviation", label: "panel.deviation", of: (z) => z.deviation, pct: true },
];

/** Each zone's workload deviation from the station's mean (a fraction). */
function withDeviation(zones) {
  const vals = zones.map((z) => z.sizing?.workload).filter((v) => v != null);
  const mean = vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : null;
  return zones.map((z) => ({ ...z, deviation: mean && z.sizing ? (z.sizing.workload - mean) / mean : null }));
}

function zoneTable(el, zones, stationCode) {
  if (!caps.stats || !caps.sizing || getAsOf()) return "";
  return `<h3>${escapeHtml(t("panel.table"))}</h3>
    <div class="buttons"><button type="button" id="zone-csv">${escapeHtml(t("panel.csv"))}</button></div>
    <div style="overflow-x:auto"><table class="zone-table" data-station="${escapeHtml(stationCode)}"><thead><tr>${COLUMNS.map((c) =>
      `<th scope="col"><button type="button" data-sort="${c.key}">${escapeHtml(t(c.label))}</button></th>`).join("")}</tr></thead>
    <tbody></tbody></table></div>`;
}

function wireZoneTable(el, zones, station) {
  const table = el.querySelector(".zone-table");
  if (!table) return;
  const rows = withDeviation(zones);
  let sort = { key: "deviation", dir: -1 };
  const cell = (c, z) => {
    const v = c.of(z);
    if (v == null) return "–";
    if (c.pct) return `${v > 0 ? "+" : ""}${num(v * 100, 1)}%`;
    return c.text ? escapeHtml(v) : num(v, c.digits || 0);
  };
  const draw = () => {
    const col = COLUMNS.find((c) => c.key === sort.key);
    const sorted = [...rows].sort((a, b) => {
      const x = col.of(a), y = col.of(b);
      if (x == null) return 1;
      if (y == null) return -1;
      return (col.text ? String(x).localeCompare(String(y), "zh-CN") : x - y) * sort.dir;
    });
    table.querySelector("tbody").innerHTML = sorted.map((z) => {
      const short = z.sizing && z.officers.length < z.sizing.recommendedOfficers;
      return `<tr data-zone="${escapeHtml(z.code)}" tabindex="0" class="${short ? "short" : ""}">${COLUMNS.map((c) =>
        `<td data-col="${c.key}">${cell(c, z)}</td>`).join("")}</tr>`;
    }).join("");
    table.querySelectorAll("th button").forEach((b) => {
      b.parentElement.setAttribute("aria-sort", b.dataset.sort === sort.key ? (sort.dir > 0 ? "ascending" : "descending") : "none");
    });
    table.querySelectorAll("tr[data-zone]").forEach((tr) => {
      const open = async () => {
        const geom = await geometryOf("zone", tr.dataset.zone).catch(() => null);
        highlight(geom);
        if (geom) fitTo(geom);
      };
      tr.onclick = open;
      tr.onkeydown = (e) => { if (e.key === "Enter") open(); };
    });
  };
  table.querySelectorAll("th button").forEach((b) => {
    b.onclick = () => {
      sort = { key: b.dataset.sort, dir: sort.key === b.dataset.sort ? -sort.dir : -1 };
      draw();
    };
  });
  el.querySelector("#zone-csv").onclick = () => {
    const esc = (v) => (/[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
    const head = ["code", ...COLUMNS.map((c) => c.key)];
    const lines = [head.join(","), ...rows.map((z) => [z.code, ...COLUMNS.map((c) => {
      const v = c.of(z);
      return v == null ? "" : c.pct ? (v * 100).toFixed(2) : v;
    })].map(esc).join(","))];
    const blob = new Blob(["\ufeff" + lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `zones-${station}.csv`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };
  draw();
}

const asOfLine = (a) => (a.vars.asOf ? `<p class="coords">${escapeHtml(t("card.asOf", { at: when(a.vars.asOf) }))}</p>` : "");

export async function showStation(el, code) {
  el.hidden = false;
  el.innerHTML = `<p>${escapeHtml(t("panel.loadingStation"))}</p>`;
  try {
    const a = asOfArgs();
    const { station: s } = await gql(STATION_Q(a), { code, ...a.vars });
    if (!s) { el.innerHTML = `<p class="error">${escapeHtml(t("panel.noStation", { code }))}</p>`; return; }
    const phone = s.phone ? ` · <a class="tel" href="tel:${escapeHtml(s.phone.replace(/[^\d+]/g, ""))}">☎ ${escapeHtml(s.phone)}</a>` : "";
    el.innerHTML = `<h2>${escapeHtml(s.name)} <code>${escapeHtml(s.code)}</code></h2>${asOfLine(a)}
      <p>${t("panel.stationLine", { kind: escapeHtml(kindLabel(s.kind)), sector: escapeHtml(s.sector.name), phone, n: s.zones.length })}</p>
      ${figures({ ...s, officers: s.zones.flatMap((z) => z.officers) })}
      ${missingNote()}${barChart(s.zones, null)}${zoneTable(el, s.zones, s.code)}`;
    wireZoneTable(el, s.zones, s.code);
    el.dataset.station = s.code;
    if (!a.vars.asOf) compareSection(el, s.code); // plans side by side (issue 12)
  } catch (err) {
    el.innerHTML = `<p class="error">${escapeHtml(t("panel.stationFailed", { code, msg: err.message }))}</p>`;
  }
}

export async function showZone(el, code) {
  el.hidden = false;
  el.innerHTML = `<p>${escapeHtml(t("panel.loadingZone"))}</p>`;
  try {
    const a = asOfArgs();
    const { zone: z } = await gql(ZONE_Q(a), { code, ...a.vars });
    if (!z) { el.innerHTML = `<p class="error">${escapeHtml(t("panel.noZone", { code }))}</p>`; return; }
    const station = `<a href="#" data-station="${escapeHtml(z.station.code)}">${escapeHtml(z.station.name)}</a>`;
    el.innerHTML = `<h2>${escapeHtml(z.name)} <code>${escapeHtml(z.code)}</code></h2>${asOfLine(a)}
      <p>${t("panel.zoneLine", { kind: escapeHtml(kindLabel(z.kind)), office: z.hasOffice ? escapeHtml(t("panel.hasOffice")) : "", n: z.grids.length, station })}</p>
      ${figures(z)}${missingNote()}${barChart(z.station.zones, z.code)}`;
    el.querySelector("a[data-station]").onclick = (e) => { e.preventDefault(); showStation(el, z.station.code); };
    delete el.dataset.station;
  } catch (err) {
    el.innerHTML = `<p class="error">${escapeHtml(t("panel.zoneFailed", { code, msg: err.message }))}</p>`;
  }
}
