// Writes the ESM entry point (dist/index.mjs) over the CommonJS build, so both module
// systems share one instance of the addon and one set of classes.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist');
const names = Object.keys(require(path.join(dist, 'index.js'))).filter((n) => n !== '__esModule');
const body = [
  "import { createRequire } from 'node:module';",
  'const cjs = createRequire(import.meta.url)(\'./index.js\');',
  ...names.map((n) => `export const ${n} = cjs.${n};`),
  'export default cjs;',
  '',
].join('\n');
fs.writeFileSync(path.join(dist, 'index.mjs'), body);
fs.copyFileSync(path.join(dist, 'index.d.ts'), path.join(dist, 'index.d.mts'));
