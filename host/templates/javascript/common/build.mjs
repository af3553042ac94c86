// Builds the plugin into a WebAssembly component: `npm run build` installs the pinned
// build tools (package-lock.json) on its first run and writes `dist/plugin.wasm` (or the
// path given after `--`).
//
// Every WASI feature of the engine is disabled: the component then imports nothing but
// the contract's `host` interface, which is all the host gives a plugin (no clock,
// randomness, stdio or network). package.json lists @bytecodealliance/preview2-shim
// itself: componentize-js imports it without declaring it.

import { componentize } from "@bytecodealliance/componentize-js";
import { mkdir, writeFile, rename } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? resolve(here, "dist", "plugin.wasm"));

const { component } = await componentize({
  sourcePath: resolve(here, "src", "plugin.js"),
  witPath: resolve(here, "wit"),
  worldName: "{{world}}",
  disableFeatures: ["stdio", "random", "clocks", "http", "fetch-event"],
});

// Written beside the target and renamed, so a watching host never loads half a file.
await mkdir(dirname(out), { recursive: true });
const tmp = `${out}.tmp`;
await writeFile(tmp, component);
await rename(tmp, out);
console.log(`built ${out} (${component.length} bytes)`);
