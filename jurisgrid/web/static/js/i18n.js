// Chinese first, English as a switch: every label, role, kind, class and message of the page,
// times in the county's time zone and numbers formatted for the language.
// `t(key, vars)` looks a message up in the current language ({name} placeholders); the choice
// is kept in localStorage and the page reloads its texts on a switch.

const LANG_KEY = "jurisgrid.lang";

const zh = {
  "app.title": "jurisgrid 辖区地图",
  "lang.switch": "EN",
  "lang.switchLabel": "Switch to English",
  "search.placeholder": "搜索编码、名称、地址或坐标",
  "search.label": "搜索",
  "search.failed": "搜索失败：{msg}",
  "search.none": "没有与“{q}”匹配的结果。",
  "search.more": "更多{kind}…",
  "search.coords": "坐标 {lon}, {lat}（{crs}）",
  "kind.station": "派出所", "kind.zone": "警务区", "kind.grid": "网格", "kind.community": "村/社区",
  "kind.township": "乡镇/街道", "kind.address": "地址", "kind.point": "坐标",
  "asof.label": "时间", "asof.title": "查看某一时刻的辖区划分（asOf）", "asof.now": "现在",
  "asof.noAsOf": "现在（服务器不支持 asOf）", "asof.noRevisions": "现在（尚无修订）",
  "asof.before": "修订 {id} 之前", "asof.revision": "修订 {id} · {at}{reason}",
  "asof.notePast": "过去时刻的地图显示当时的网格、警务区、派出所和村/社区；片区、地址和警情没有历史，显示的是现在；不显示警务区等级与数字。",
  "asof.noteNoTiles": "瓦片显示的是今天的辖区：本服务器的瓦片不支持 asOf。卡片和面板使用所选时刻。",
  "layers.title": "图层", "layers.show": "图层与图例", "layers.hide": "收起",
  "layer.zones": "警务责任区", "layer.communities": "村/社区", "layer.grids": "网格", "layer.sectors": "片区",
  "layer.stations": "派出所", "layer.townships": "乡镇/街道", "layer.addresses": "标准地址",
  "layer.incidents": "警情", "layer.labels": "名称标注",
  "legend.sector": "片区界线", "legend.station": "派出所辖区界线", "legend.seat": "派出所驻地",
  "legend.grid": "网格", "legend.selected": "已选", "legend.found": "查找结果",
  "legend.community": "村/社区界线", "legend.zoneEdge": "警务区界线",
  "legend.address": "标准地址（大小：聚合数）", "legend.incident": "警情（大小：聚合数）",
  "legend.byStation": "按派出所着色（{n} 个）", "legend.noClassPast": "过去时刻无等级", "legend.unclassed": "未分级",
  "legend.noTiles": "以下图层没有瓦片：{ids}（服务器的 /tiles 未列出）",
  "colour.by": "警务区着色", "colour.station": "按派出所", "colour.class": "按等级（一类/二类/三类）",
  "colour.kind": "按类型（城区/农村）", "colour.deviation": "按工作量偏离本所均值",
  "legend.deviation": "工作量相对本派出所各警务区均值",
  "card.title": "此处责任单位", "card.station": "派出所", "card.zone": "警务区", "card.grid": "网格",
  "card.community": "村/社区", "card.township": "乡镇/街道", "card.sector": "片区",
  "card.onBoundary": "位于边界", "card.toBoundary": "距边界", "card.officers": "责任人员",
  "card.none": "无", "card.noneRecorded": "未登记", "card.figures": "数据 ›", "card.call": "拨打 {phone}",
  "card.noGrid": "此点不在任何网格内（辖区范围之外）", "card.nearest": "；最近的网格 {code}（{name}），相距 {d} 米",
  "card.asOf": "截至 {at}", "card.lookingUp": "正在查询…", "card.failed": "查询失败：{msg}",
  "yes": "是", "no": "否",
  "card.neighbours": "边界另一侧（5 米内）", "card.neighbourAt": "{d} 米：",
  "locate.button": "定位", "locate.title": "我的位置：查看我所在位置的责任单位",
  "locate.unsupported": "此浏览器不支持定位。", "locate.failed": "无法获取位置：{msg}", "locate.busy": "正在定位…",
  "panel.loadingStation": "正在加载派出所…", "panel.loadingZone": "正在加载警务区…",
  "panel.noStation": "没有派出所 {code}。", "panel.noZone": "没有警务区 {code}。",
  "panel.stationFailed": "无法加载派出所 {code}：{msg}", "panel.zoneFailed": "无法加载警务区 {code}：{msg}",
  "panel.stationLine": "派出所 · {kind} · {sector}{phone} · {n} 个警务区",
  "panel.zoneLine": "警务区 · {kind}{office} · {n} 个网格 · 所属派出所 {station}",
  "panel.hasOffice": " · 设警务室",
  "panel.officers": "警力", "panel.population": "实有人口", "panel.households": "户数",
  "panel.addresses": "标准地址", "panel.incidents": "警情", "panel.area": "面积",
  "panel.popPerOfficer": "人均管辖人口", "panel.class": "等级", "panel.workload": "工作量",
  "panel.recommended": "建议警力", "panel.chartBy": "各警务区{measure}",
  "panel.measure.workload": "工作量", "panel.measure.incidents": "警情数", "panel.measure.grids": "网格数",
  "panel.workloadDef": "工作量 = 各类警情按政策权重加权之和 + 实有人口折算（见规模政策）",
  "panel.missing": "本服务器尚未提供{what}；图表改为显示各警务区{measure}。",
  "panel.missingStats": "人口与警情数据（stats）", "panel.missingSizing": "警务区工作量（sizing）",
  "panel.table": "警务区一览", "panel.assigned": "在岗", "panel.gap": "缺口", "panel.deviation": "偏离均值",
  "panel.csv": "导出 CSV", "panel.close": "关闭",
  "login.placeholder": "编辑令牌", "login.signIn": "登录", "login.signOut": "退出",
  "login.refused": "令牌被拒绝。", "login.failed": "登录失败：{msg}", "login.label": "访问令牌",
  "edit.title": "调整网格归属", "edit.titleGeneric": "编辑",
  "edit.select": "在地图上选择网格", "edit.selecting": "正在选择…（点击结束）",
  "edit.selected": "已选：", "edit.noneSelected": "无 —— 请在地图上点击网格",
  "edit.toZone": "目标警务区", "edit.toZonePlaceholder": "名称或编码", "edit.pickZone": "在地图上点选",
  "edit.reason": "原因", "edit.reasonPlaceholder": "调整原因（记录在案）",
  "edit.dry": "预演", "edit.commit": "提交", "edit.clear": "清除",
  "edit.needBoth": "请至少选择一个网格和目标警务区。", "edit.checking": "正在检查…", "edit.committing": "正在提交…",
  "edit.dryTitle": "预演：尚未写入", "edit.committed": "已提交为修订 {id}", "edit.committedNoId": "已提交",
  "edit.noMutation": "本服务器没有 reassignGrids 变更（编辑部分）。",
  "edit.mayNotEdit": "您的角色（{role}）只能查看，不能编辑。",
  "edit.zonesFailed": "无法列出警务区：{msg}", "edit.unknownZone": "找不到警务区“{q}”。",
  "warn.ZONE_SPLIT": "注意：警务区 {units} 将被分成 {after} 块（原为 {before} 块）。",
  "warn.STATION_CHANGE": "注意：此调整跨派出所（{stations}）：{units}。",
  "warn.NO_CHANGE": "此调整不改变任何内容：所选单位已是如此。",
  "warn.STAFFING_BREACH_CREATED": "将出现不符合警力配置规范：{units}（{rule}：{value}，标准 {limit}）。",
  "warn.STAFFING_BREACH_CLEARED": "将消除不符合警力配置规范：{units}（{rule}）。",
  "edit.noop": "所选网格已属于 {zone}，无需调整。",
  "history.title": "修订历史", "history.revert": "撤销", "history.grids": "{n} 个网格",
  "history.revertedBy": "已被修订 {id} 撤销", "history.reverts": "撤销了修订 {id}",
  "history.confirm": "撤销修订 {id}？将生成一个新修订恢复之前的状态。", "history.reason": "撤销修订 {id}",
  "history.done": "修订 {id} 已撤销（新修订 {rev}）。",
  "op.reassignGrids": "调整网格归属", "op.reassignCommunity": "调整村/社区归属", "op.moveZone": "调整警务区归属",
  "op.redrawGrid": "重绘网格", "op.splitGrid": "拆分网格", "op.mergeGrids": "合并网格", "op.revert": "撤销",
  "op.seed": "初始数据", "op.import": "导入",
  "impact.grids": "网格", "impact.zones": "警务区", "impact.stations": "派出所", "impact.population": "实有人口",
  "impact.households": "户数", "impact.incidents": "警情", "impact.addresses": "标准地址",
  "role.viewer": "查看", "role.editor": "编辑", "role.planner": "规划", "role.admin": "管理员",
  "error.NotFound": "未找到", "error.ValidationError": "校验未通过", "error.ConflictError": "冲突",
  "error.ForbiddenError": "无权操作", "error.network": "无法连接服务器：{msg}",
  "status.noApi": "无法连接 GraphQL 接口：{msg}", "status.startFailed": "地图启动失败：{msg}",
  "status.noCounty": "无法读取县区信息：{msg}", "status.noTiles": "矢量瓦片不可用（{msg}）；只绘制县界。",
  "status.mapError": "地图错误：{msg}",
  "panels.layers": "图层", "panels.info": "信息", "panels.close": "收起面板",
  "loading": "加载中…",
  "cursor": "经纬度",
};

const en = {
  "app.title": "jurisgrid — jurisdiction map",
  "lang.switch": "中文",
  "lang.switchLabel": "切换到中文",
  "search.placeholder": "Search code, name, address or coordinates",
  "search.label": "Search",
  "search.failed": "Search failed: {msg}",
  "search.none": "Nothing matches “{q}”.",
  "search.more": "More {kind}…",
  "search.coords": "Coordinates {lon}, {lat} ({crs})",
  "kind.station": "Station", "kind.zone": "Zone", "kind.grid": "Grid", "kind.community": "Community",
  "kind.township": "Township", "kind.address": "Address", "kind.point": "Point",
  "asof.label": "As of", "asof.title": "Show the jurisdictions as they were at an instant (asOf)", "asof.now": "now",
  "asof.noAsOf": "now (this server has no asOf yet)", "asof.noRevisions": "now (no revisions yet)",
  "asof.before": "before revision {id}", "asof.revision": "revision {id} · {at}{reason}",
  "asof.notePast": "As of a past instant the map shows grids, zones, stations and communities then; sectors, address points and incidents have no history and show the present, and zone classes and figures are not shown.",
  "asof.noteNoTiles": "The tiles show today's boundaries: this server's tiles do not take asOf yet. Cards and panels use the chosen instant.",
  "layers.title": "Layers", "layers.show": "Layers and legend", "layers.hide": "Hide",
  "layer.zones": "Zones (责任区)", "layer.communities": "Communities (村/社区)", "layer.grids": "Grids (网格)",
  "layer.sectors": "Sectors (片区)", "layer.stations": "Stations (派出所)", "layer.townships": "Townships (乡镇)",
  "layer.addresses": "Address points", "layer.incidents": "Incidents (警情)", "layer.labels": "Labels",
  "legend.sector": "Sector boundary", "legend.station": "Station boundary", "legend.seat": "Station seat",
  "legend.grid": "Grid", "legend.selected": "Selected", "legend.found": "Search result",
  "legend.community": "Community boundary", "legend.zoneEdge": "Zone boundary",
  "legend.address": "Address point (size: cluster count)", "legend.incident": "Incident (size: cluster count)",
  "legend.byStation": "Zones coloured by station ({n})", "legend.noClassPast": "no class as of a past instant",
  "legend.unclassed": "unclassed",
  "legend.noTiles": "No tiles for: {ids} (the server's /tiles does not list them).",
  "colour.by": "Colour zones by", "colour.station": "station", "colour.class": "class (一类/二类/三类)",
  "colour.kind": "kind (urban/rural)", "colour.deviation": "workload vs station mean",
  "legend.deviation": "workload against the mean of the station's zones",
  "card.title": "Responsible here", "card.station": "Station", "card.zone": "Zone", "card.grid": "Grid",
  "card.community": "Community", "card.township": "Township", "card.sector": "Sector",
  "card.onBoundary": "On boundary", "card.toBoundary": "To boundary", "card.officers": "Officers",
  "card.none": "none", "card.noneRecorded": "none recorded", "card.figures": "figures ›", "card.call": "Call {phone}",
  "card.noGrid": "This point is in no grid (outside the jurisdiction)", "card.nearest": "; nearest grid {code} ({name}) at {d} m",
  "card.asOf": "as of {at}", "card.lookingUp": "Looking up…", "card.failed": "Lookup failed: {msg}",
  "yes": "yes", "no": "no",
  "card.neighbours": "Across the boundary (within 5 m)", "card.neighbourAt": "{d} m:",
  "locate.button": "Locate me", "locate.title": "Where am I: the responsibility card of where I stand",
  "locate.unsupported": "This browser cannot tell its location.", "locate.failed": "Could not get the location: {msg}",
  "locate.busy": "Locating…",
  "panel.loadingStation": "Loading station…", "panel.loadingZone": "Loading zone…",
  "panel.noStation": "No station {code}.", "panel.noZone": "No zone {code}.",
  "panel.stationFailed": "Could not load station {code}: {msg}", "panel.zoneFailed": "Could not load zone {code}: {msg}",
  "panel.stationLine": "Station · {kind} · sector {sector}{phone} · {n} zones",
  "panel.zoneLine": "Zone · {kind}{office} · {n} grids · station {station}",
  "panel.hasOffice": " · has a 警务室",
  "panel.officers": "Officers", "panel.population": "Population", "panel.households": "Households",
  "panel.addresses": "Address points", "panel.incidents": "Incidents", "panel.area": "Area",
  "panel.popPerOfficer": "Population / officer", "panel.class": "Class", "panel.workload": "Workload",
  "panel.recommended": "Recommended officers", "panel.chartBy": "Zones by {measure}",
  "panel.measure.workload": "workload", "panel.measure.incidents": "incidents", "panel.measure.grids": "grids",
  "panel.workloadDef": "Workload = incidents weighted by category under the sizing policy + population share (see the sizing policy)",
  "panel.missing": "This server does not provide {what} yet (the sizing part); the chart shows {measure} per zone instead.",
  "panel.missingStats": "population and incident figures (stats)", "panel.missingSizing": "zone workloads (sizing)",
  "panel.table": "Zones", "panel.assigned": "Assigned", "panel.gap": "Gap", "panel.deviation": "From mean",
  "panel.csv": "Export CSV", "panel.close": "Close",
  "login.placeholder": "editor token", "login.signIn": "Sign in", "login.signOut": "Sign out",
  "login.refused": "Token refused.", "login.failed": "Sign-in failed: {msg}", "login.label": "Access token",
  "edit.title": "Reassign grids", "edit.titleGeneric": "Edit",
  "edit.select": "Select grids on the map", "edit.selecting": "Selecting… (click to stop)",
  "edit.selected": "Selected: ", "edit.noneSelected": "none — click grids on the map",
  "edit.toZone": "To zone", "edit.toZonePlaceholder": "name or code", "edit.pickZone": "Pick on map",
  "edit.reason": "Reason", "edit.reasonPlaceholder": "why (recorded)",
  "edit.dry": "Dry run", "edit.commit": "Commit", "edit.clear": "Clear",
  "edit.needBoth": "Select at least one grid and a target zone.", "edit.checking": "Checking…",
  "edit.committing": "Committing…", "edit.dryTitle": "Dry run: nothing written yet",
  "edit.committed": "Committed as revision {id}", "edit.committedNoId": "Committed",
  "edit.noMutation": "This server has no reassignGrids mutation yet (the editing part).",
  "edit.mayNotEdit": "Your role ({role}) may look but not edit.",
  "edit.zonesFailed": "Could not list zones: {msg}", "edit.unknownZone": "No zone matches “{q}”.",
  "warn.ZONE_SPLIT": "Note: zone {units} is left in {after} pieces (it was in {before}).",
  "warn.STATION_CHANGE": "Note: this edit crosses stations ({stations}): {units}.",
  "warn.NO_CHANGE": "This edit changes nothing: the units are already so.",
  "warn.STAFFING_BREACH_CREATED": "Creates a staffing-norm breach: {units} ({rule}: {value}, norm {limit}).",
  "warn.STAFFING_BREACH_CLEARED": "Clears a staffing-norm breach: {units} ({rule}).",
  "edit.noop": "The selected grids are already in {zone}: nothing to change.",
  "history.title": "History", "history.revert": "Revert", "history.grids": "{n} grids",
  "history.revertedBy": "reverted by revision {id}", "history.reverts": "reverts revision {id}",
  "history.confirm": "Revert revision {id}? A new revision restores the state before it.", "history.reason": "revert of revision {id}",
  "history.done": "Revision {id} reverted (new revision {rev}).",
  "op.reassignGrids": "reassign grids", "op.reassignCommunity": "reassign community", "op.moveZone": "move zone",
  "op.redrawGrid": "redraw grid", "op.splitGrid": "split grid", "op.mergeGrids": "merge grids", "op.revert": "revert",
  "op.seed": "initial data", "op.import": "import",
  "impact.grids": "Grids", "impact.zones": "Zones", "impact.stations": "Stations", "impact.population": "Population",
  "impact.households": "Households", "impact.incidents": "Incidents", "impact.addresses": "Address points",
  "role.viewer": "viewer", "role.editor": "editor", "role.planner": "planner", "role.admin": "admin",
  "error.NotFound": "Not found", "error.ValidationError": "Not valid", "error.ConflictError": "Conflict",
  "error.ForbiddenError": "Not allowed", "error.network": "Cannot reach the server: {msg}",
  "status.noApi": "Cannot reach the GraphQL API: {msg}", "status.startFailed": "The map failed to start: {msg}",
  "status.noCounty": "Could not read the county: {msg}",
  "status.noTiles": "Vector tiles unavailable ({msg}); only the county outline is drawn.",
  "status.mapError": "Map error: {msg}",
  "panels.layers": "Layers", "panels.info": "Info", "panels.close": "Hide panel",
  "loading": "Loading…",
  "cursor": "Lon/lat",
};

// Domain words: officer roles (in the order a station lists them), unit kinds, zone classes.
const ROLES = {
  zh: { chief: "所长", instructor: "教导员", deputy_chief: "副所长", officer: "民警",
    community_officer: "社区民警", auxiliary: "辅警", grid_worker: "网格员" },
  en: { chief: "chief", instructor: "political instructor", deputy_chief: "deputy chief", officer: "officer",
    community_officer: "community officer", auxiliary: "auxiliary", grid_worker: "grid worker" },
};
export const ROLE_ORDER = ["chief", "instructor", "deputy_chief", "officer", "community_officer",
  "auxiliary", "grid_worker"];

const KINDS = {
  zh: { urban: "城区", central: "中心场镇", rural: "农村", community: "社区", village: "村",
    street: "街道", town: "镇", township: "乡" },
  en: { urban: "urban", central: "central town", rural: "rural", community: "community", village: "village",
    street: "subdistrict", town: "town", township: "township" },
};

const DICTS = { zh, en };
let lang = (() => {
  try { return localStorage.getItem(LANG_KEY) === "en" ? "en" : "zh"; } catch { return "zh"; }
})();
let timeZone = "Asia/Shanghai"; // the county's; the API may name another

export function getLang() {
  return lang;
}

export function setLang(value) {
  lang = value === "en" ? "en" : "zh";
  try { localStorage.setItem(LANG_KEY, lang); } catch { /* private mode: the choice lasts the page */ }
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
}

export function setTimeZone(tz) {
  if (tz) timeZone = tz;
}

/** The message `key` in the current language, with `{name}` placeholders filled from `vars`. */
export function t(key, vars = {}) {
  const s = DICTS[lang][key] ?? DICTS.zh[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? ""));
}

export function roleLabel(role) {
  return ROLES[lang][role] || role;
}

/** Sort key of an officer role: the order a station lists its people in. */
export function roleRank(role) {
  const i = ROLE_ORDER.indexOf(role);
  return i < 0 ? ROLE_ORDER.length : i;
}

export function kindLabel(kind) {
  return KINDS[lang][kind] || kind || "";
}

const locale = () => (lang === "zh" ? "zh-CN" : "en-GB");

/** A number for people: grouped digits in the language's style, "–" when missing. */
export function num(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return "–";
  return Number(n).toLocaleString(locale(), { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** An instant (ISO 8601) in the county's time zone, e.g. 2026年12月1日 17:07. */
export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return new Intl.DateTimeFormat(locale(), { timeZone, year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", hour12: false }).format(d);
}

/** Replace the text of every element with data-i18n (and the attributes named in
 *  data-i18n-attr="placeholder:key,title:key") in the static page. */
export function translatePage(root = document) {
  root.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll("[data-i18n-attr]").forEach((el) => {
    for (const pair of el.dataset.i18nAttr.split(",")) {
      const [attr, key] = pair.split(":");
      el.setAttribute(attr, t(key));
    }
  });
  document.title = t("app.title");
}

setLang(lang);
