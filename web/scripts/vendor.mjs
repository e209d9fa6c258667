// Copies the browser libraries as npm installed them into the Python package, where the app
// serves them under /static/vendor/ (no CDN: the map and GraphiQL work offline):
//   maplibre-gl/  MapLibre GL JS (the map)
//   graphiql/     GraphiQL 3 with React 18 (their UMD builds: no bundler needed)
// The copies are committed, so installing jurisgrid needs no npm; run `./dev web` (npm ci + this)
// after changing package.json, and commit the result (tests/test_packaging.py checks VERSION
// against the lock).
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "..", "node_modules");
const vendor = join(here, "..", "..", "jurisgrid", "web", "static", "vendor");

const version = (pkg) => JSON.parse(readFileSync(join(modules, pkg, "package.json"), "utf8")).version;

/** Copy `files` ([package, path in it, name in dest]) into vendor/`dest`, with a VERSION file. */
function vendorInto(dest, files, versionLine) {
  const out = join(vendor, dest);
  mkdirSync(out, { recursive: true });
  for (const [pkg, path, name] of files) copyFileSync(join(modules, pkg, path), join(out, name));
  // the app reads this to tell which version it serves (and that the copy is complete)
  writeFileSync(join(out, "VERSION"), `${versionLine}\n`);
  console.log(`${dest}: ${versionLine} -> ${out}`);
}

vendorInto("maplibre-gl", [
  ["maplibre-gl", "dist/maplibre-gl.js", "maplibre-gl.js"],
  ["maplibre-gl", "dist/maplibre-gl.css", "maplibre-gl.css"],
  ["maplibre-gl", "LICENSE.txt", "LICENSE.txt"],
], version("maplibre-gl"));

vendorInto("graphiql", [
  ["graphiql", "graphiql.min.js", "graphiql.min.js"],
  ["graphiql", "graphiql.min.css", "graphiql.min.css"],
  ["graphiql", "LICENSE", "LICENSE-graphiql.txt"],
  ["react", "umd/react.production.min.js", "react.production.min.js"],
  ["react", "LICENSE", "LICENSE-react.txt"],
  ["react-dom", "umd/react-dom.production.min.js", "react-dom.production.min.js"],
], `graphiql ${version("graphiql")} react ${version("react")} react-dom ${version("react-dom")}`);

// axe-core for the browser tests' accessibility check (tests/browser/test_a11y.py); not served
const tests = join(here, "..", "..", "tests", "browser", "vendor");
mkdirSync(tests, { recursive: true });
copyFileSync(join(modules, "axe-core", "axe.min.js"), join(tests, "axe.min.js"));
writeFileSync(join(tests, "VERSION"), `axe-core ${version("axe-core")}\n`);
console.log(`axe-core ${version("axe-core")} -> ${tests}`);
