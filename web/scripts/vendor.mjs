// Copies MapLibre GL JS as npm installed it into the Python package, where the app serves it
// at /static/vendor/maplibre-gl/ (no CDN: the map works offline). The copies are committed, so
// installing jurisgrid needs no npm; run `./dev web` (npm ci + this) after changing
// package.json, and commit the result (tests/test_packaging.py checks VERSION against the lock).
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, "..", "node_modules", "maplibre-gl");
const dest = join(here, "..", "..", "jurisgrid", "web", "static", "vendor", "maplibre-gl");
const files = ["dist/maplibre-gl.js", "dist/maplibre-gl.css", "LICENSE.txt"];

mkdirSync(dest, { recursive: true });
for (const f of files) {
  copyFileSync(join(src, f), join(dest, f.split("/").pop()));
}
const { version } = JSON.parse(readFileSync(join(src, "package.json"), "utf8"));
// the app reads this to tell which version it serves (and that the copy is complete)
writeFileSync(join(dest, "VERSION"), `${version}\n`);
console.log(`maplibre-gl ${version} -> ${dest}`);
