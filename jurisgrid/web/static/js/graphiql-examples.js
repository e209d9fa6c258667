// GraphiQL, offline, with one tab per common job. The map's sign-in token (sessionStorage) is
// sent along when there is one.
/* global GraphiQL, React, ReactDOM */
(function () {
  const EXAMPLES = [
    ["此处由谁负责 Who is responsible here", `# 一个点（GCJ-02：高德/腾讯坐标）→ 网格、警务区、派出所、责任人员
query WhoIsResponsible {
  responsibleFor(lon: 106.97715, lat: 30.83407, crs: GCJ02) {
    onBoundary distanceToBoundaryM
    grid { code name } zone { code name } station { code name phone }
    community { name } township { name }
    officers { role person { name phone } }
    nearest { grid { code } distanceM }
  }
}`],
    ["批量查询 Many points", `# up to 100,000 [lon, lat] pairs; answers come back as columns in input order
query Many($points: Coordinates!) {
  responsibleForMany(points: $points, crs: WGS84) { gridCodes zoneCodes stationCodes onBoundary }
}`, `{ "points": [[106.973, 30.8366], [106.95, 30.85], [107.1, 30.9]] }`],
    ["地图范围内的网格 Grids in a box", `query GridsInBox {
  grids(bbox: [106.95, 30.82, 107.0, 30.86], first: 100) {
    totalCount
    nodes { code name zone { code name station { name } } geometry(simplify: 5, precision: 6) }
  }
}`],
    ["派出所警务区规模 Station sizing", `query StationSizing {
  station(code: "511725PS01") {
    name
    stats { population households incidents { total } officers }
    zones { code name officers { role } sizing { zoneClass workload recommendedOfficers } }
  }
  compliance(station: "511725PS01") { rule message }
}`],
    ["修订历史 History", `query History {
  currentRevision
  revisions(first: 10) { id actor role at effectiveFrom reason kind summary }
  scheduledEdits(pending: true) { id operation effectiveFrom actor }
}`],
    ["调整网格（预演）Reassign, dry run", `# needs an editor token: Headers → {"Authorization": "Bearer <token>"}
mutation ReassignDryRun {
  reassignGrids(grids: ["511725001001008"], toZone: "511725PS01Z02", reason: "示例", dryRun: true) {
    __typename
    ... on EditSuccess { impact { grids zones stations population households incidents addressPoints } }
    ... on EditError { code message details }
  }
}`],
  ];
  const token = sessionStorage.getItem("jurisgrid.token");
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const fetcher = GraphiQL.createFetcher({ url: `${location.origin}/graphql`, headers });
  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(GraphiQL, {
    fetcher,
    defaultEditorToolsVisibility: true,
    defaultHeaders: token ? JSON.stringify(headers, null, 2) : undefined,
    defaultTabs: EXAMPLES.map(([, query, variables]) => ({ query, variables })),
  }));
})();
