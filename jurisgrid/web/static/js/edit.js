// Editors: a token in the login box (kept in sessionStorage, sent as Authorization: Bearer),
// then select grids on the map, pick the target zone (by name, by code, or by clicking it on the
// map), see the dry-run impact with its warnings (no-op, station change), commit; a history
// list of revisions with revert for those allowed to.
import { GraphQLError, caps, escapeHtml, getToken, gql, setToken } from "./api.js";
import { num, t, when } from "./i18n.js";

const EDIT_ROLES = new Set(["editor", "planner", "admin"]);

const REASSIGN = `mutation Reassign($grids: [String!]!, $toZone: String!, $reason: String,
    $dryRun: Boolean!, $expectedRevision: Int) {
  reassignGrids(grids: $grids, toZone: $toZone, reason: $reason, dryRun: $dryRun,
                expectedRevision: $expectedRevision) {
    __typename
    ... on EditSuccess { dryRun revision { id at actor reason } changedArea
      impact { grids zones stations population households incidents addressPoints
               warnings { code message units details } } }
    ... on EditError { code message details }
    ... on ConflictError { currentRevision }
  }
}`;

const REVERT = `mutation Revert($revision: Int!, $reason: String) {
  revert(revision: $revision, reason: $reason) {
    __typename
    ... on EditSuccess { revision { id } }
    ... on EditError { code message details }
  }
}`;

const state = { me: null, selecting: false, picking: false, selected: [], dryRunFor: null,
  expectedRevision: null, zones: [], gridZone: new Map() };
let hooks = { onSelection: () => {}, onCommitted: () => {}, onShow: () => {} };

export function isSelecting() {
  return state.selecting;
}

export function selectedGrids() {
  return [...state.selected];
}

export function toggleGrid(code, zone) {
  const i = state.selected.indexOf(code);
  if (i >= 0) state.selected.splice(i, 1);
  else state.selected.push(code);
  if (zone) state.gridZone.set(code, zone);
  state.dryRunFor = null;
  hooks.onSelection(state.selected);
  render();
}

/** While "pick on map" is on, a click on the map chooses the zone under it as the target;
 *  returns true when it took the click. */
export function onMapClick(e, map) {
  if (!state.picking) return false;
  const f = map.queryRenderedFeatures(e.point, { layers: ["zones-fill"] })[0];
  if (f) {
    const input = document.getElementById("to-zone");
    input.value = f.properties.code;
    state.dryRunFor = null;
    setPicking(false);
    renderSelection();
  }
  return true;
}

function setPicking(on) {
  state.picking = on;
  const b = document.getElementById("pick-zone");
  if (b) b.setAttribute("aria-pressed", String(on));
  document.body.classList.toggle("selecting", on || state.selecting);
}

async function whoAmI() {
  if (!caps.me) return null;
  const { me } = await gql("{ me { actor role stationCode anonymous } }");
  return me.anonymous ? null : me;
}

function renderLogin() {
  const box = document.getElementById("login");
  if (state.me) {
    box.innerHTML = `<span class="who" data-role="${escapeHtml(state.me.role)}">${escapeHtml(state.me.actor)} · ${escapeHtml(t(`role.${state.me.role}`))}${state.me.stationCode ? ` · ${escapeHtml(state.me.stationCode)}` : ""}</span>
      <button id="logout" class="tool-btn" type="button">${escapeHtml(t("login.signOut"))}</button>`;
    box.querySelector("#logout").onclick = () => { setToken(""); state.me = null; reset(); renderLogin(); render(); };
  } else {
    box.innerHTML = `<form id="login-form"><label for="token" class="sr-only">${escapeHtml(t("login.label"))}</label>
      <input id="token" type="password" placeholder="${escapeHtml(t("login.placeholder"))}" autocomplete="off">
      <button type="submit" class="tool-btn">${escapeHtml(t("login.signIn"))}</button><span id="login-msg" class="error" role="alert"></span></form>`;
    box.querySelector("#login-form").onsubmit = async (e) => {
      e.preventDefault();
      const token = box.querySelector("#token").value.trim();
      if (!token) return;
      setToken(token);
      try {
        state.me = await whoAmI();
        if (!state.me) throw new Error("token not recognised");
        renderLogin();
        render();
      } catch (err) {
        setToken("");
        state.me = null;
        const refused = err instanceof GraphQLError && err.status === 401;
        const msg = box.querySelector("#login-msg");
        msg.textContent = refused ? t("login.refused") : t("login.failed", { msg: err.message });
        msg.dataset.refused = String(refused);
      }
    };
  }
}

function reset() {
  state.selecting = false;
  state.selected = [];
  state.dryRunFor = null;
  setPicking(false);
  hooks.onSelection(state.selected);
}

/** The zone the user means by what they typed: a code, an exact name, or the one zone whose
 *  name (or station name + zone name) contains it. */
export function resolveZone(text) {
  const q = text.trim();
  if (!q) return null;
  const byCode = state.zones.find((z) => z.code === q || z.code === q.split(/\s/)[0]);
  if (byCode) return byCode;
  const exact = state.zones.filter((z) => z.name === q);
  if (exact.length === 1) return exact[0];
  const part = state.zones.filter((z) => z.name.includes(q) || `${z.station} ${z.name}`.includes(q));
  return part.length === 1 ? part[0] : null;
}

function impactHtml(r) {
  const i = r.impact;
  const codes = (xs) => xs.map((c) => `<code>${escapeHtml(c)}</code>`).join(" ") || "–";
  return `<table class="card-table" data-impact>
    <tr><th>${t("impact.grids")}</th><td>${codes(i.grids)}</td></tr>
    <tr><th>${t("impact.zones")}</th><td>${codes(i.zones)}</td></tr>
    <tr><th>${t("impact.stations")}</th><td>${codes(i.stations)}</td></tr>
    <tr><th>${t("impact.population")}</th><td data-field="impact-population" data-value="${i.population}">${num(i.population)}</td></tr>
    <tr><th>${t("impact.households")}</th><td>${num(i.households)}</td></tr>
    <tr><th>${t("impact.incidents")}</th><td>${num(i.incidents)}</td></tr>
    <tr><th>${t("impact.addresses")}</th><td>${num(i.addressPoints)}</td></tr></table>`;
}

/** The server's warnings (zones cut into pieces, station changes, staffing norms, no-ops), in
 *  the page's language; `data-warning` is the code in kebab case (e.g. station-change). */
function warnings(r) {
  return (r.impact.warnings || []).map((w) => {
    const key = `warn.${w.code}`;
    const d = w.details || {};
    const text = t(key, { units: w.units.join("、"), before: d.before ?? "", after: d.after ?? "",
      stations: (d.stations || []).map((p) => p.join(" → ")).join("；"), rule: d.rule || "",
      value: d.value != null ? num(d.value, 1) : "", limit: d.limit != null ? num(d.limit, 1) : "" });
    const kind = w.code.toLowerCase().replace(/_/g, "-");
    return `<p class="warn" data-warning="${escapeHtml(kind)}">${escapeHtml(text === key ? w.message : text)}</p>`;
  }).join("");
}

function errorHtml(r) {
  const details = (r.details || []).map((d) => `<li>${escapeHtml(typeof d === "string" ? d : JSON.stringify(d))}</li>`).join("");
  const label = t(`error.${r.__typename}`);
  return `<p class="error" data-error="${escapeHtml(r.__typename)}">${escapeHtml(label)}：${escapeHtml(r.message)}</p>${details ? `<ul>${details}</ul>` : ""}`;
}

async function run(dryRun) {
  const el = document.getElementById("edit");
  const out = el.querySelector("#edit-result");
  const typed = el.querySelector("#to-zone").value;
  const target = resolveZone(typed);
  const reason = el.querySelector("#edit-reason").value.trim() || null;
  if (!state.selected.length || !typed.trim()) {
    out.innerHTML = `<p class="error">${escapeHtml(t("edit.needBoth"))}</p>`;
    return;
  }
  if (!target) {
    out.innerHTML = `<p class="error" data-error="unknown-zone">${escapeHtml(t("edit.unknownZone", { q: typed.trim() }))}</p>`;
    return;
  }
  const already = state.selected.filter((g) => state.gridZone.get(g) === target.code);
  if (already.length === state.selected.length) {
    out.innerHTML = `<p class="warn" data-warning="no-op">${escapeHtml(t("edit.noop", { zone: target.name }))}</p>`;
    state.dryRunFor = null;
    renderSelection();
    return;
  }
  out.innerHTML = `<p>${escapeHtml(t(dryRun ? "edit.checking" : "edit.committing"))}</p>`;
  try {
    if (dryRun && caps.currentRevision) state.expectedRevision = (await gql("{ currentRevision }")).currentRevision;
    const vars = { grids: state.selected, toZone: target.code, reason, dryRun, expectedRevision: state.expectedRevision };
    const { reassignGrids: r } = await gql(REASSIGN, vars);
    if (r.__typename !== "EditSuccess") {
      out.innerHTML = errorHtml(r);
      state.dryRunFor = null;
    } else if (dryRun) {
      state.dryRunFor = JSON.stringify([state.selected, target.code]);
      out.innerHTML = `<h3>${escapeHtml(t("edit.dryTitle"))}</h3>${warnings(r)}${impactHtml(r)}`;
    } else {
      const title = r.revision ? t("edit.committed", { id: r.revision.id }) : t("edit.committedNoId");
      out.innerHTML = `<h3 data-committed="${r.revision?.id ?? ""}">${escapeHtml(title)}</h3>${warnings(r)}${impactHtml(r)}`;
      for (const g of state.selected) state.gridZone.set(g, target.code);
      state.selected = [];
      state.dryRunFor = null;
      hooks.onSelection(state.selected);
      hooks.onCommitted(r);
      loadHistory();
    }
  } catch (err) {
    out.innerHTML = `<p class="error">${escapeHtml(err.message)}</p>`;
  }
  el.querySelector("#edit-commit").disabled = !state.dryRunFor;
  renderSelection();
}

function renderSelection() {
  const el = document.getElementById("edit");
  const sel = el.querySelector("#edit-selection");
  if (!sel) return;
  sel.innerHTML = state.selected.length
    ? state.selected.map((c) => `<code>${escapeHtml(c)}</code>`).join(" ") : `<em>${escapeHtml(t("edit.noneSelected"))}</em>`;
  const target = resolveZone(el.querySelector("#to-zone").value);
  el.querySelector("#to-zone-name").textContent = target ? `${target.name} · ${target.stationName}` : "";
  el.querySelector("#edit-commit").disabled = !target || state.dryRunFor !== JSON.stringify([state.selected, target.code]);
}

function render() {
  const el = document.getElementById("edit");
  if (!state.me) { el.hidden = true; return; }
  el.hidden = false;
  hooks.onShow();
  if (!caps.reassign) {
    el.innerHTML = `<h2>${escapeHtml(t("edit.titleGeneric"))}</h2><p class="notice">${escapeHtml(t("edit.noMutation"))}</p>`;
    return;
  }
  if (!EDIT_ROLES.has(state.me.role)) {
    el.innerHTML = `<h2>${escapeHtml(t("edit.titleGeneric"))}</h2><p class="notice">${escapeHtml(t("edit.mayNotEdit", { role: t(`role.${state.me.role}`) }))}</p>`;
    return;
  }
  if (el.querySelector("#edit-select")) { renderSelection(); return; }
  el.innerHTML = `<h2>${escapeHtml(t("edit.title"))}</h2>
    <button id="edit-select" type="button" aria-pressed="false">${escapeHtml(t("edit.select"))}</button>
    <p>${escapeHtml(t("edit.selected"))}<span id="edit-selection"></span></p>
    <label for="to-zone">${escapeHtml(t("edit.toZone"))}</label>
    <div class="buttons"><input id="to-zone" list="zone-list" placeholder="${escapeHtml(t("edit.toZonePlaceholder"))}" size="18" autocomplete="off">
      <button id="pick-zone" type="button" aria-pressed="false">${escapeHtml(t("edit.pickZone"))}</button></div>
    <small id="to-zone-name" aria-live="polite"></small>
    <datalist id="zone-list"></datalist>
    <label for="edit-reason">${escapeHtml(t("edit.reason"))}</label>
    <input id="edit-reason" placeholder="${escapeHtml(t("edit.reasonPlaceholder"))}" size="24">
    <div class="buttons"><button id="edit-dry" type="button">${escapeHtml(t("edit.dry"))}</button>
      <button id="edit-commit" type="button" disabled>${escapeHtml(t("edit.commit"))}</button>
      <button id="edit-clear" type="button">${escapeHtml(t("edit.clear"))}</button></div>
    <div id="edit-result" aria-live="polite"></div>
    <details id="history" class="history"><summary>${escapeHtml(t("history.title"))}</summary><div id="history-list"></div></details>`;
  const btn = el.querySelector("#edit-select");
  btn.onclick = () => {
    state.selecting = !state.selecting;
    if (state.selecting) setPicking(false);
    btn.setAttribute("aria-pressed", String(state.selecting));
    btn.textContent = state.selecting ? t("edit.selecting") : t("edit.select");
    document.body.classList.toggle("selecting", state.selecting);
  };
  el.querySelector("#pick-zone").onclick = () => {
    if (state.selecting) btn.click();
    setPicking(!state.picking);
  };
  el.querySelector("#edit-dry").onclick = () => run(true);
  el.querySelector("#edit-commit").onclick = () => run(false);
  el.querySelector("#edit-clear").onclick = () => { reset(); renderSelection(); el.querySelector("#edit-result").innerHTML = ""; };
  el.querySelector("#to-zone").oninput = () => { state.dryRunFor = null; renderSelection(); };
  el.querySelector("#history").ontoggle = (e) => { if (e.target.open) loadHistory(); };
  loadZones(el.querySelector("#zone-list"));
  renderSelection();
}

async function loadZones(list) {
  try {
    const data = await gql("{ zones(first: 1000) { edges { node { code name station { code name } grids { code } } } } }");
    state.zones = data.zones.edges.map(({ node: z }) => ({ code: z.code, name: z.name, station: z.station.code,
      stationName: z.station.name }));
    for (const { node: z } of data.zones.edges) for (const g of z.grids) state.gridZone.set(g.code, z.code);
    list.innerHTML = state.zones.map((z) =>
      `<option value="${escapeHtml(z.name)}">${escapeHtml(z.code)} · ${escapeHtml(z.stationName)}</option>`).join("");
    renderSelection();
  } catch (err) {
    list.insertAdjacentHTML("afterend", `<p class="error">${escapeHtml(t("edit.zonesFailed", { msg: err.message }))}</p>`);
  }
}

/** The newest revisions: who, when, why, what — and a revert button for editors and admins. */
export async function loadHistory() {
  const box = document.getElementById("history-list");
  if (!box || !caps.revisions) return;
  try {
    const { revisions } = await gql("{ revisions(first: 20) { id actor role at effectiveFrom reason kind summary reverts revertedBy } }");
    box.innerHTML = `<ol>${revisions.map((r) => {
      const grids = Array.isArray(r.summary?.grids) ? r.summary.grids.length : null;
      const can = !r.revertedBy && r.kind !== "seed";
      return `<li data-revision="${r.id}"><b>#${r.id}</b> ${escapeHtml(when(r.effectiveFrom))} · ${escapeHtml(r.actor)}${r.role ? `（${escapeHtml(t(`role.${r.role}`))}）` : ""}
        <br><small>${escapeHtml(t(`op.${r.kind}`) === `op.${r.kind}` ? r.kind : t(`op.${r.kind}`))}${grids !== null ? ` · ${escapeHtml(t("history.grids", { n: grids }))}` : ""}${r.reason ? ` · ${escapeHtml(r.reason)}` : ""}${r.revertedBy ? ` · ${escapeHtml(t("history.revertedBy", { id: r.revertedBy }))}` : ""}${r.reverts ? ` · ${escapeHtml(t("history.reverts", { id: r.reverts }))}` : ""}</small>
        ${can ? `<button type="button" data-revert="${r.id}">${escapeHtml(t("history.revert"))}</button>` : ""}</li>`;
    }).join("")}</ol><p id="history-msg" aria-live="polite"></p>`;
    box.querySelectorAll("button[data-revert]").forEach((b) => {
      b.onclick = async () => {
        const id = Number(b.dataset.revert);
        if (!window.confirm(t("history.confirm", { id }))) return;
        const msg = box.querySelector("#history-msg");
        try {
          const { revert: r } = await gql(REVERT, { revision: id, reason: t("history.reason", { id }) });
          if (r.__typename !== "EditSuccess") { msg.innerHTML = errorHtml(r); return; }
          msg.innerHTML = `<span data-reverted="${id}">${escapeHtml(t("history.done", { id, rev: r.revision?.id ?? "" }))}</span>`;
          hooks.onCommitted(r);
          await loadHistory();
          box.querySelector("#history-msg").innerHTML = msg.innerHTML;
        } catch (err) {
          msg.innerHTML = `<span class="error">${escapeHtml(err.message)}</span>`;
        }
      };
    });
  } catch (err) {
    box.innerHTML = `<p class="error">${escapeHtml(err.message)}</p>`;
  }
}

/** Restore a session's token (if any) and draw the login box and edit panel. */
export async function initEdit(h) {
  hooks = { ...hooks, ...h };
  if (getToken()) {
    try { state.me = await whoAmI(); } catch { setToken(""); state.me = null; }
  }
  renderLogin();
  render();
}

