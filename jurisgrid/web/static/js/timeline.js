// The asOf slider. Its stops are the revisions (each: the jurisdictions right after it took
// effect), one stop before the oldest, and "now" at the right end; without a `revisions` query
// it steps by day over the past year. Disabled, with a note, when the server has no asOf.
import { caps, escapeHtml, gql, setAsOf } from "./api.js";
import { t, when } from "./i18n.js";

const DAY = 24 * 3600 * 1000;
let stops = []; // [{ asOf: ISO string | null, label }]

function dayStops() {
  const out = [];
  for (let d = 365; d >= 1; d--) {
    const at = new Date(Date.now() - d * DAY).toISOString();
    out.push({ asOf: at, label: when(at) });
  }
  return out;
}

async function revisionStops() {
  const { revisions } = await gql("{ revisions(first: 100) { id at effectiveFrom reason kind } }");
  const revs = [...revisions].sort((a, b) => a.effectiveFrom.localeCompare(b.effectiveFrom) || a.id - b.id)
    .filter((r) => new Date(r.effectiveFrom) <= new Date());
  if (!revs.length) return [];
  const before = new Date(new Date(revs[0].effectiveFrom).getTime() - 1000).toISOString();
  return [{ asOf: before, label: t("asof.before", { id: revs[0].id }) },
    ...revs.map((r) => ({ asOf: r.effectiveFrom,
      label: t("asof.revision", { id: r.id, at: when(r.effectiveFrom), reason: r.reason ? ` · ${r.reason}` : "" }) }))];
}

/** (Re)build the stops; the slider goes back to "now". */
export async function loadTimeline() {
  const slider = document.getElementById("asof");
  const label = document.getElementById("asof-label");
  if (!caps.asOf) {
    slider.disabled = true;
    label.textContent = t("asof.noAsOf");
    return;
  }
  try {
    stops = caps.revisions ? await revisionStops() : dayStops();
  } catch {
    stops = dayStops();
  }
  stops.push({ asOf: null, label: t("asof.now") });
  slider.disabled = stops.length < 2;
  slider.min = "0";
  slider.max = String(Math.max(1, stops.length - 1)); // one stop: the knob still sits at "now"
  slider.value = slider.max;
  label.textContent = stops.length < 2 ? t("asof.noRevisions") : t("asof.now");
  setAsOf(null);
}

/** Wire the slider; `onChange(asOf)` runs when the user lets go at a new stop. */
export function initTimeline(onChange) {
  const slider = document.getElementById("asof");
  const label = document.getElementById("asof-label");
  slider.oninput = () => { label.innerHTML = escapeHtml(stops[Number(slider.value)]?.label || ""); };
  slider.onchange = () => {
    slider.oninput();
    const asOf = stops[Number(slider.value)]?.asOf ?? null;
    setAsOf(asOf);
    onChange(asOf);
  };
  return loadTimeline();
}
