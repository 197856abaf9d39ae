#!/usr/bin/env node
// The `l2s` command (package bin); the implementation is compiled from ts/cli.
'use strict';
const { main } = require('../dist/cli/main.js');

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`l2s: ${err && err.message ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
