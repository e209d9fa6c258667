// Editors: a token in the login box (kept in sessionStorage, sent as Authorization: Bearer),
// then select grids on the map, pick a target zone, see the dry-run impact, commit.
import { GraphQLError, caps, escapeHtml, fmt, getToken, gql, setToken } from "./api.js";

const EDIT_ROLES = new Set(["editor", "planner", "admin"]);

const REASSIGN = `mutation Reassign($grids: [String!]!, $toZone: String!, $reason: String,
    $dryRun: Boolean!, $expectedRevision: Int) {
  reassignGrids(grids: $grids, toZone: $toZone, reason: $reason, dryRun: $dryRun,
                expectedRevision: $expectedRevision) {
    __typename
    ... on EditSuccess { dryRun revision { id at actor reason }
      impact { grids zones stations population households incidents addressPoints } }
    ... on EditError { code message details }
    ... on ConflictError { currentRevision }
  }
}`;

const state = { me: null, selecting: false, selected: [], dryRunFor: null, expectedRevision: null };
let hooks = { onSelection: () => {}, onCommitted: () => {} };

export function isSelecting() {
  return state.selecting;
}

export function selectedGrids() {
  return [...state.selected];
}

export function toggleGrid(code) {
  const i = state.selected.indexOf(code);
  if (i >= 0) state.selected.splice(i, 1);
  else state.selected.push(code);
  state.dryRunFor = null;
  hooks.onSelection(state.selected);
  render();
}

async function whoAmI() {
  if (!caps.me) return null;
  const { me } = await gql("{ me { actor role stationCode anonymous } }");
  return me.anonymous ? null : me;
}

function renderLogin() {
  const box = document.getElementById("login");
  if (state.me) {
    box.innerHTML = `<span class="who">${escapeHtml(state.me.actor)} · ${escapeHtml(state.me.role)}${state.me.stationCode ? ` · ${escapeHtml(state.me.stationCode)}` : ""}</span>
      <button id="logout" type="button">Sign out</button>`;
    box.querySelector("#logout").onclick = () => { setToken(""); state.me = null; reset(); renderLogin(); render(); };
  } else {
    box.innerHTML = `<form id="login-form"><input id="token" type="password" placeholder="editor token" autocomplete="off" size="14">
      <button type="submit">Sign in</button><span id="login-msg" class="error"></span></form>`;
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
        box.querySelector("#login-msg").textContent = refused ? "Token refused." : `Sign-in failed: ${err.message}`;
      }
    };
  }
}

function reset() {
  state.selecting = false;
  state.selected = [];
  state.dryRunFor = null;
  hooks.onSelection(state.selected);
}

function impactHtml(r) {
  const i = r.impact;
  const codes = (xs) => xs.map((c) => `<code>${escapeHtml(c)}</code>`).join(" ") || "–";
  return `<table class="card-table" data-impact>
    <tr><th>Grids</th><td>${codes(i.grids)}</td></tr>
    <tr><th>Zones</th><td>${codes(i.zones)}</td></tr>
    <tr><th>Stations</th><td>${codes(i.stations)}</td></tr>
    <tr><th>Population</th><td data-field="impact-population">${fmt(i.population)}</td></tr>
    <tr><th>Households</th><td>${fmt(i.households)}</td></tr>
    <tr><th>Incidents</th><td>${fmt(i.incidents)}</td></tr>
    <tr><th>Address points</th><td>${fmt(i.addressPoints)}</td></tr></table>`;
}

function errorHtml(r) {
  const details = (r.details || []).map((d) => `<li>${escapeHtml(typeof d === "string" ? d : JSON.stringify(d))}</li>`).join("");
  return `<p class="error" data-error="${escapeHtml(r.__typename)}">${escapeHtml(r.__typename)}: ${escapeHtml(r.message)}</p>${details ? `<ul>${details}</ul>` : ""}`;
}

async function run(dryRun) {
  const el = document.getElementById("edit");
  const out = el.querySelector("#edit-result");
  const toZone = el.querySelector("#to-zone").value.trim().split(/\s/)[0];
  const reason = el.querySelector("#edit-reason").value.trim() || null;
  if (!state.selected.length || !toZone) {
    out.innerHTML = `<p class="error">Select at least one grid and a target zone.</p>`;
    return;
  }
  out.innerHTML = `<p>${dryRun ? "Checking" : "Committing"}…</p>`;
  try {
    if (dryRun && caps.currentRevision) state.expectedRevision = (await gql("{ currentRevision }")).currentRevision;
    const vars = { grids: state.selected, toZone, reason, dryRun, expectedRevision: state.expectedRevision };
    const { reassignGrids: r } = await gql(REASSIGN, vars);
    if (r.__typename !== "EditSuccess") {
      out.innerHTML = errorHtml(r);
      state.dryRunFor = null;
    } else if (dryRun) {
      state.dryRunFor = JSON.stringify([state.selected, toZone]);
      out.innerHTML = `<h3>Dry run: nothing written yet</h3>${impactHtml(r)}`;
    } else {
      out.innerHTML = `<h3 data-committed="${r.revision?.id ?? ""}">Committed${r.revision ? ` as revision ${r.revision.id}` : ""}</h3>${impactHtml(r)}`;
      state.selected = [];
      state.dryRunFor = null;
      hooks.onSelection(state.selected);
      hooks.onCommitted(r);
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
    ? state.selected.map((c) => `<code>${escapeHtml(c)}</code>`).join(" ") : "<em>none — click grids on the map</em>";
  const toZone = el.querySelector("#to-zone").value.trim().split(/\s/)[0];
  el.querySelector("#edit-commit").disabled = state.dryRunFor !== JSON.stringify([state.selected, toZone]);
}

function render() {
  const el = document.getElementById("edit");
  if (!state.me) { el.hidden = true; return; }
  el.hidden = false;
  if (!caps.reassign) {
    el.innerHTML = `<h2>Edit</h2><p class="notice">This server has no <code>reassignGrids</code> mutation yet (the editing part).</p>`;
    return;
  }
  if (!EDIT_ROLES.has(state.me.role)) {
    el.innerHTML = `<h2>Edit</h2><p class="notice">Your role (${escapeHtml(state.me.role)}) may look but not edit.</p>`;
    return;
  }
  if (el.querySelector("#edit-select")) { renderSelection(); return; }
  el.innerHTML = `<h2>Reassign grids</h2>
    <button id="edit-select" type="button" aria-pressed="false">Select grids on the map</button>
    <p>Selected: <span id="edit-selection"></span></p>
    <label>To zone <input id="to-zone" list="zone-list" placeholder="zone code" size="18"></label>
    <datalist id="zone-list"></datalist>
    <label>Reason <input id="edit-reason" placeholder="why (recorded)" size="18"></label>
    <div class="buttons"><button id="edit-dry" type="button">Dry run</button>
      <button id="edit-commit" type="button" disabled>Commit</button>
      <button id="edit-clear" type="button">Clear</button></div>
    <div id="edit-result"></div>`;
  const btn = el.querySelector("#edit-select");
  btn.onclick = () => {
    state.selecting = !state.selecting;
    btn.setAttribute("aria-pressed", String(state.selecting));
    btn.textContent = state.selecting ? "Selecting… (click to stop)" : "Select grids on the map";
    document.body.classList.toggle("selecting", state.selecting);
  };
  el.querySelector("#edit-dry").onclick = () => run(true);
  el.querySelector("#edit-commit").onclick = () => run(false);
  el.querySelector("#edit-clear").onclick = () => { reset(); renderSelection(); el.querySelector("#edit-result").innerHTML = ""; };
  el.querySelector("#to-zone").oninput = () => { state.dryRunFor = null; renderSelection(); };
  loadZones(el.querySelector("#zone-list"));
  renderSelection();
}

async function loadZones(list) {
  try {
    const data = await gql("{ zones(first: 1000) { edges { node { code name station { name } } } } }");
    list.innerHTML = data.zones.edges.map(({ node: z }) =>
      `<option value="${escapeHtml(z.code)}">${escapeHtml(z.name)} · ${escapeHtml(z.station.name)}</option>`).join("");
  } catch (err) {
    list.insertAdjacentHTML("afterend", `<p class="error">Could not list zones: ${escapeHtml(err.message)}</p>`);
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
