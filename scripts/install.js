// `npm install` hook: use the prebuilt addon when one loads; otherwise build it from source
// with cargo (needs a Rust toolchain), then compile the TypeScript if this is a checkout.
'use strict';
const { execSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const run = (cmd) => execSync(cmd, { cwd: root, stdio: 'inherit' });

function addonLoads() {
  try {
    require(path.join(root, 'native', 'binding.js'));
    return true;
  } catch {
    return false;
  }
}

const checkout = fs.existsSync(path.join(root, 'Cargo.toml')) && fs.existsSync(path.join(root, 'ts'));
if (process.env.L2_FORCE_BUILD || !addonLoads()) {
  if (!checkout) {
    console.error('l2-session: no prebuilt binary for this platform and no sources to build from');
    process.exit(1);
  }
  console.log('l2-session: building the native addon from source with cargo');
  run('npx napi build --platform --release --strip --output-dir native --js binding.js --dts binding.d.ts');
}
if (checkout) run('npm run build:ts');
