// GCJ-02 (AMap/Tencent) and BD-09 (Baidu) to WGS 84 for the page's own use: where to put the
// marker for a coordinate typed in one of those systems. The server converts the point itself
// for the lookup (`responsibleFor(crs:)`); this is only for drawing. Krasovsky ellipsoid
// (a = 6378245, ee = 0.00669342162296594323) on (lon − 105, lat − 35); the inverse is iterative.
const A = 6378245.0;
const EE = 0.00669342162296594323;
const X_PI = (Math.PI * 3000.0) / 180.0;

const inChina = (lon, lat) => lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271;

function delta(lon, lat) {
  const x = lon - 105.0, y = lat - 35.0;
  let dLat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  dLat += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  dLat += ((20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin((y / 3.0) * Math.PI)) * 2.0) / 3.0;
  dLat += ((160.0 * Math.sin((y / 12.0) * Math.PI) + 320 * Math.sin((y * Math.PI) / 30.0)) * 2.0) / 3.0;
  let dLon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  dLon += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  dLon += ((20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin((x / 3.0) * Math.PI)) * 2.0) / 3.0;
  dLon += ((150.0 * Math.sin((x / 12.0) * Math.PI) + 300.0 * Math.sin((x / 30.0) * Math.PI)) * 2.0) / 3.0;
  const radLat = (lat / 180.0) * Math.PI;
  let magic = Math.sin(radLat);
  magic = 1 - EE * magic * magic;
  const sqrtMagic = Math.sqrt(magic);
  dLat = (dLat * 180.0) / (((A * (1 - EE)) / (magic * sqrtMagic)) * Math.PI);
  dLon = (dLon * 180.0) / ((A / sqrtMagic) * Math.cos(radLat) * Math.PI);
  return [dLon, dLat];
}

export function wgsToGcj(lon, lat) {
  if (!inChina(lon, lat)) return [lon, lat];
  const [dx, dy] = delta(lon, lat);
  return [lon + dx, lat + dy];
}

export function gcjToWgs(lon, lat) {
  if (!inChina(lon, lat)) return [lon, lat];
  let [x, y] = [lon, lat];
  for (let i = 0; i < 30; i++) {
    const [gx, gy] = wgsToGcj(x, y);
    const ex = gx - lon, ey = gy - lat;
    x -= ex; y -= ey;
    if (Math.abs(ex) < 1e-10 && Math.abs(ey) < 1e-10) break;
  }
  return [x, y];
}

export function bdToGcj(lon, lat) {
  const x = lon - 0.0065, y = lat - 0.006;
  const z = Math.sqrt(x * x + y * y) - 0.00002 * Math.sin(y * X_PI);
  const theta = Math.atan2(y, x) - 0.000003 * Math.cos(x * X_PI);
  return [z * Math.cos(theta), z * Math.sin(theta)];
}

/** A point typed in `crs` (WGS84 | CGCS2000 | GCJ02 | BD09) as WGS 84 lon/lat. */
export function toWgs84(lon, lat, crs) {
  if (crs === "GCJ02") return gcjToWgs(lon, lat);
  if (crs === "BD09") return gcjToWgs(...bdToGcj(lon, lat));
  return [lon, lat];
}

/** "106.97, 30.84", "30.84 106.97", "106.97,30.84 gcj02" → {lon, lat, crs | null}; null if not
 *  coordinates. Latitude first is recognised by range (China: lon 73–136, lat 3–54). */
export function parseCoordinates(text) {
  const m = String(text).trim().match(
    /^(-?\d{1,3}(?:\.\d+)?)\s*[,，\s]\s*(-?\d{1,3}(?:\.\d+)?)(?:\s*[,，\s]?\s*(wgs-?84|cgcs2000|gcj-?02|bd-?09))?$/i);
  if (!m) return null;
  let a = Number(m[1]), b = Number(m[2]);
  if (Math.abs(a) <= 90 && Math.abs(b) > 90) [a, b] = [b, a];
  else if (a >= 3 && a <= 54 && b >= 73 && b <= 136) [a, b] = [b, a];
  if (Math.abs(a) > 180 || Math.abs(b) > 90) return null;
  const crs = m[3] ? m[3].toUpperCase().replace("-", "").replace("WGS84", "WGS84") : null;
  return { lon: a, lat: b, crs };
}
