// `npm install` hook. An installed package loads the prebuilt binary of its platform package
// (e.g. l2-session-linux-x64-gnu, an optionalDependency) and builds nothing. A source checkout
// with no loadable binary builds the addon with cargo; a checkout also compiles the TypeScript.
'use strict';
const { execSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const run = (cmd) => execSync(cmd, { cwd: root, stdio: 'inherit' });

/** Why the addon does not load, or null when it does. */
function addonLoadError() {
  try {
    require(path.join(root, 'native', 'binding.js'));
    return null;
  } catch (err) {
    return err;
  }
}

function hasCargo() {
  try {
    execSync('cargo --version', { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const checkout = fs.existsSync(path.join(root, 'Cargo.toml')) && fs.existsSync(path.join(root, 'ts'));
const forced = Boolean(process.env.L2_FORCE_BUILD);
const loadError = forced ? null : addonLoadError();
if (forced || loadError) {
  const platform = `${process.platform}-${process.arch}`;
  if (!checkout) {
    console.error(
      `l2-session: no prebuilt binary loads on ${platform} and this package has no sources to build from.\n` +
        '  Install the platform package that matches (npm installs it from optionalDependencies unless\n' +
        '  optional dependencies are omitted), or build from a source checkout with a Rust toolchain.\n' +
        `  Load error: ${loadError ? String(loadError.message).split('\n')[0] : 'L2_FORCE_BUILD is set'}`,
    );
    process.exit(1);
  }
  if (!hasCargo()) {
    console.error(`l2-session: no prebuilt binary loads on ${platform}; building from source needs cargo (https://rustup.rs) on PATH`);
    process.exit(1);
  }
  console.log(`l2-session: ${forced ? 'L2_FORCE_BUILD is set' : 'no prebuilt binary loads'}; building the native addon from source with cargo`);
  run('npx napi build --platform --release --strip --output-dir native --js binding.js --dts binding.d.ts');
} else {
  console.log('l2-session: the native addon loads; nothing to build');
}
if (checkout) run('npm run build:ts');
