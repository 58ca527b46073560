// Builds web/dist/: the demo page the gateway serves at GET / (index.html, whose assets live
// under /web/), one bundle per Amplify major version, and the two session-setup modules as
// plain ES modules (dependencies left as imports) for anyone who wants to read the output.
import { copyFile, mkdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, "dist");
const src = (p) => join(root, "src", p);

const browser = {
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2020"],
  minify: true,
  sourcemap: true,
  legalComments: "linked",
  logLevel: "warning",
  outdir: dist,
  // Amplify v5 and its libraries still look for Node's `global` and `process.env`.
  define: { global: "globalThis", "process.env.NODE_ENV": '"production"' },
};

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });

await Promise.all([
  // v5 code imports "aws-amplify" exactly as an Amplify v5 app does; here that name is v6, so the
  // v5 builds resolve it to the aws-amplify@5 installed under the alias aws-amplify-v5.
  esbuild.build({
    ...browser,
    entryPoints: { "demo-v5": src("demo/demo-v5.ts") },
    alias: { "aws-amplify": "aws-amplify-v5" },
  }),
  esbuild.build({
    ...browser,
    entryPoints: { "demo-v6": src("demo/demo-v6.ts"), page: src("demo/page.ts") },
  }),
  esbuild.build({
    ...browser,
    entryPoints: { "lib/v5": src("v5.ts"), "lib/v6": src("v6.ts") },
    packages: "external",
    minify: false,
    sourcemap: false,
  }),
  copyFile(src("index.html"), join(dist, "index.html")),
  copyFile(src("style.css"), join(dist, "style.css")),
]);
console.log(`web: built ${dist}`);
