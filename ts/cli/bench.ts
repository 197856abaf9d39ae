/** `l2s bench`: runs the package's benchmark suite, passing every argument through. */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { constants } from 'node:os';
import * as path from 'node:path';
import { CliError, Command, helpOf } from './common';

/** The suite's entry point, relative to the package root (what `npm run bench` runs). */
const ENTRY = path.join('bench', 'index.js');

export const bench: Command = {
  name: 'bench',
  summary: 'Run the benchmark suite (the same as npm run bench)',
  usage: '[ARGS...]',
  description: `Every argument goes to ${ENTRY} as it is; --help shows the suite's own options too. The exit code is the suite's.`,
  options: {},
  passthrough: true,
  async run(p) {
    const script = path.join(__dirname, '..', '..', ENTRY);
    if (!fs.existsSync(script)) throw new CliError(`the benchmark suite is not installed (${script} is missing); it ships with the source checkout`);
    const help = p.positionals.some((a) => a === '--help' || a === '-h');
    if (help) process.stdout.write(`${helpOf(bench)}\nthe suite's options:\n`);
    const child = spawn(process.execPath, [script, ...(help ? ['--help'] : p.positionals)], { stdio: 'inherit' });
    return new Promise<number>((resolve, reject) => {
      child.on('error', (err) => reject(new CliError(`cannot run ${script}: ${err.message}`)));
      child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
    });
  },
};
