// Plans side by side in the station panel (issue 12 item 3): today's zones and the station's
// stored plans through one `comparePlans` query — a table of each plan's figures — and, on the
// map, the grids coloured by their zone's deviation from the ideal under the plan picked
// (blue: below, red: above, ±30 % and beyond the strongest) with the grids it moves outlined.
import { escapeHtml, gql } from "./api.js";
import { getLang, num } from "./i18n.js";
import { getMap } from "./map.js";

const TEXT = {
  zh: {
    title: "方案对比", plans: "方案（可多选）", measure: "着色指标", compare: "对比", none: "本所还没有方案。",
    plan: "方案", moved: "调整网格", worst: "最大偏差", pieces: "片数", pp: "紧凑度", show: "上图",
    clear: "清除着色", live: "现状", population: "人口", incidents: "警情", workload: "工作量",
    failed: "对比失败：", legend: "偏差：蓝＝低于理想值，红＝高于；粗框＝调整的网格",
  },
  en: {
    title: "Compare plans", plans: "Plans (several may be picked)", measure: "Colour by", compare: "Compare",
    none: "This station has no plans yet.", plan: "Plan", moved: "Grids moved", worst: "worst deviation",
    pieces: "Pieces", pp: "Polsby–Popper", show: "Map", clear: "Clear colours", live: "today",
    population: "population", incidents: "incidents", workload: "workload", failed: "Comparison failed: ",
    legend: "Deviation: blue below the ideal, red above; thick outline: grids moved",
  },
};
const tr = (k) => (TEXT[getLang()] || TEXT.zh)[k];
const MEASURES = ["population", "incidents", "workload"];

const PLANS_Q = "{ plans { id name status scope { kind code } } }";
const COMPARE_Q = `query C($plans: [ID!], $station: String) {
  comparePlans(plans: $plans, station: $station) {
    plans { plan name contiguous polsbyPopperMean moves { grids stationChanges }
      measures { measure worst }
      zones { zone pieces gridCodes deviation { population incidents workload } } }
    changedGrids { grid zones } } }`;

/** A colour for a signed deviation: white at 0, blue below, red above, full at ±30 %. */
export function deviationColour(d) {
  const x = Math.max(-1, Math.min(1, d / 0.3));
  const mix = (a, b) => Math.round(a + (b - a) * Math.abs(x));
  return x < 0 ? `rgb(${mix(255, 33)},${mix(255, 102)},${mix(255, 172)})`
    : `rgb(${mix(255, 178)},${mix(255, 24)},${mix(255, 43)})`;
}

const LAYERS = ["compare-fill", "compare-moved"];

function clearMap() {
  const map = getMap();
  for (const id of LAYERS) if (map?.getLayer(id)) map.removeLayer(id);
}

/** Colour the grids by their zone's deviation under plan `i` of the comparison; outline the grids
 *  whose zone differs from the first column (today's zones). */
function showOnMap(result, i, measure) {
  const map = getMap();
  if (!map?.getSource("grids")) return;
  clearMap();
  const p = result.plans[i];
  const colours = [];
  for (const z of p.zones) for (const g of z.gridCodes) colours.push(g, deviationColour(z.deviation[measure]));
  const moved = result.changedGrids.filter((g) => g.zones[i] !== g.zones[0]).map((g) => g.grid);
  const before = map.getLayer("grids-line") ? "grids-line" : undefined;
  map.addLayer({ id: "compare-fill", type: "fill", source: "grids", "source-layer": "grids",
    filter: ["in", ["get", "code"], ["literal", colours.filter((_, k) => k % 2 === 0)]],
    paint: { "fill-color": colours.length ? ["match", ["get", "code"], ...colours, "#ffffff"] : "#ffffff",
      "fill-opacity": 0.7 } }, before);
  map.addLayer({ id: "compare-moved", type: "line", source: "grids", "source-layer": "grids",
    filter: ["in", ["get", "code"], ["literal", moved]],
    paint: { "line-color": "#111", "line-width": 3 } });
  document.body.dataset.compareShown = `${p.plan}:${measure}:${moved.length}`;
}

function table(result) {
  const pct = (v) => `${num(v * 100, 1)}%`;
  const rows = result.plans.map((p, i) => {
    const worst = Object.fromEntries(p.measures.map((m) => [m.measure, m.worst]));
    const pieces = p.zones.reduce((a, z) => a + z.pieces, 0);
    return `<tr data-plan="${escapeHtml(p.plan)}"><th scope="row">${escapeHtml(p.plan === "live" ? tr("live") : p.name)}</th>
      <td data-col="moved">${num(p.moves.grids)}</td>
      ${MEASURES.map((m) => `<td data-col="${m}">${pct(worst[m])}</td>`).join("")}
      <td>${num(pieces)}</td><td>${num(p.polsbyPopperMean, 3)}</td>
      <td><button type="button" data-show="${i}">${escapeHtml(tr("show"))}</button></td></tr>`;
  }).join("");
  return `<div style="overflow-x:auto"><table class="compare-table"><thead><tr>
    <th scope="col">${escapeHtml(tr("plan"))}</th><th scope="col">${escapeHtml(tr("moved"))}</th>
    ${MEASURES.map((m) => `<th scope="col">${escapeHtml(`${tr(m)} ${tr("worst")}`)}</th>`).join("")}
    <th scope="col">${escapeHtml(tr("pieces"))}</th><th scope="col">${escapeHtml(tr("pp"))}</th><th></th></tr></thead>
    <tbody>${rows}</tbody></table></div><p class="coords">${escapeHtml(tr("legend"))}</p>`;
}

/** Append the compare section to the station panel `el` (when the server has plans). */
export async function compareSection(el, station) {
  const box = document.createElement("section");
  box.className = "compare";
  box.innerHTML = `<h3>${escapeHtml(tr("title"))}</h3><p>…</p>`;
  el.append(box);
  let plans;
  try {
    plans = (await gql(PLANS_Q)).plans.filter((p) => p.scope.kind === "station" && p.scope.code === station);
  } catch {
    box.remove(); // no plans for this caller (or none on this server): nothing to compare
    return;
  }
  if (!plans.length) { box.innerHTML = `<h3>${escapeHtml(tr("title"))}</h3><p>${escapeHtml(tr("none"))}</p>`; return; }
  box.innerHTML = `<h3>${escapeHtml(tr("title"))}</h3>
    <label>${escapeHtml(tr("plans"))}<br><select id="compare-plans" multiple size="${Math.min(5, plans.length)}">
      ${plans.map((p, i) => `<option value="${escapeHtml(p.id)}"${i === 0 ? " selected" : ""}>${escapeHtml(p.name)} (${escapeHtml(p.status)})</option>`).join("")}
    </select></label>
    <label>${escapeHtml(tr("measure"))} <select id="compare-measure">${MEASURES.map((m) =>
      `<option value="${m}">${escapeHtml(tr(m))}</option>`).join("")}</select></label>
    <div class="buttons"><button type="button" id="compare-run">${escapeHtml(tr("compare"))}</button>
      <button type="button" id="compare-clear">${escapeHtml(tr("clear"))}</button></div>
    <div id="compare-out" aria-live="polite"></div>`;
  const out = box.querySelector("#compare-out");
  const measure = () => box.querySelector("#compare-measure").value;
  box.querySelector("#compare-clear").onclick = () => { clearMap(); delete document.body.dataset.compareShown; };
  box.querySelector("#compare-run").onclick = async () => {
    const ids = [...box.querySelector("#compare-plans").selectedOptions].map((o) => o.value);
    out.textContent = "…";
    try {
      const { comparePlans: result } = await gql(COMPARE_Q, { plans: ids, station });
      out.innerHTML = table(result);
      out.querySelectorAll("button[data-show]").forEach((b) => {
        b.onclick = () => showOnMap(result, Number(b.dataset.show), measure());
      });
      showOnMap(result, result.plans.length - 1, measure());
    } catch (err) {
      out.innerHTML = `<p class="error">${escapeHtml(tr("failed") + err.message)}</p>`;
    }
  };
}
