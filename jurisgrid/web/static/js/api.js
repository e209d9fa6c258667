// GraphQL over fetch, the editor's token (sessionStorage), and what this server's schema has.
// Other parts of the platform (sizing stats, asOf, edits) may not be there yet: `caps` says which
// are, from one introspection query at start-up, so each panel can say clearly what is missing.

const TOKEN_KEY = "jurisgrid.token";

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export function authHeaders() {
  const t = getToken();
  return t ? { Authorization: `Bearer ${t}` } : {};
}

export class GraphQLError extends Error {
  constructor(errors, status) {
    super(errors.map((e) => e.message).join("; "));
    this.errors = errors;
    this.status = status;
    this.code = errors[0]?.extensions?.code || null;
  }
}

/** POST a query; resolves to `data`, rejects with GraphQLError (or a network Error). */
export async function gql(query, variables = {}) {
  const res = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", ...authHeaders() },
    body: JSON.stringify({ query, variables }),
  });
  let body;
  try {
    body = await res.json();
  } catch {
    throw new Error(`GraphQL endpoint answered HTTP ${res.status} without JSON`);
  }
  if (body.errors?.length) throw new GraphQLError(body.errors, res.status);
  if (!res.ok) throw new Error(`GraphQL endpoint answered HTTP ${res.status}`);
  return body.data;
}

const INTROSPECT = `{
  __schema {
    queryType { name } mutationType { name }
    types { name kind fields { name args { name } } }
  }
}`;

/** Which optional capabilities the schema has. */
export const caps = {
  asOf: false, // responsibleFor(asOf:)
  asOfUnits: false, // station(code:, asOf:) / zone(code:, asOf:)
  stats: false, // Station.stats / Zone.stats
  sizing: false, // Zone.sizing
  reassign: false, // Mutation.reassignGrids
  currentRevision: false,
  revisions: false,
  me: false,
  tilesAsOf: false, // tile URLs take ?asOf= (TileJSON tiles URL carries it)
};

function fieldsOf(types, name) {
  const t = types.find((x) => x.name === name);
  return new Map((t?.fields || []).map((f) => [f.name, f]));
}

export async function loadCapabilities() {
  const { __schema: s } = await gql(INTROSPECT);
  const q = fieldsOf(s.types, s.queryType.name);
  const m = s.mutationType ? fieldsOf(s.types, s.mutationType.name) : new Map();
  const station = fieldsOf(s.types, "Station");
  const zone = fieldsOf(s.types, "Zone");
  caps.asOf = !!q.get("responsibleFor")?.args.some((a) => a.name === "asOf");
  const hasAsOf = (f) => !!q.get(f)?.args.some((a) => a.name === "asOf");
  caps.asOfUnits = hasAsOf("station") && hasAsOf("zone");
  caps.stats = station.has("stats") && zone.has("stats");
  caps.sizing = zone.has("sizing");
  caps.reassign = m.has("reassignGrids");
  caps.currentRevision = q.has("currentRevision");
  caps.revisions = q.has("revisions");
  caps.me = q.has("me");
  return caps;
}

/** The instant the map is looking at (ISO 8601), or null for now. */
let asOf = null;
export function getAsOf() {
  return asOf;
}
export function setAsOf(value) {
  asOf = value;
}

/** `asOf: $asOf` for queries when the schema has it (the variable is declared by the caller). */
export function asOfVars() {
  return caps.asOf && asOf ? { asOf } : {};
}

/** Bounding box [w, s, e, n] of a GeoJSON geometry. */
export function bboxOf(geom) {
  let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
  const walk = (c) => {
    if (typeof c[0] === "number") {
      w = Math.min(w, c[0]); e = Math.max(e, c[0]);
      s = Math.min(s, c[1]); n = Math.max(n, c[1]);
    } else c.forEach(walk);
  };
  if (geom.type === "GeometryCollection") geom.geometries.forEach((g) => walk(g.coordinates));
  else walk(geom.coordinates);
  return [w, s, e, n];
}

export function escapeHtml(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) =>
    ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

export function fmt(n) {
  return n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US");
}
