/** The `l2s` command: dispatches to a subcommand and turns any failure into one line and an exit code. */
import { bench } from './bench';
import { CliError, Command, exitCodeOf, parse, reasonOf, EXIT } from './common';
import { connect } from './connect';
import { discover } from './discover';
import { keygen } from './keygen';
import { listen } from './listen';
import { status } from './status';

const COMMANDS: readonly Command[] = [keygen, listen, connect, discover, status, bench];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: l2s <command> [options]',
    '',
    'Post-quantum authenticated sessions (l2-session) from the command line.',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'l2s <command> --help shows the options of a command. Errors print one line "l2s: <reason>" and exit',
    'non-zero: 2 bad usage or input, 3 network (unreachable, timeout), 4 authentication, 1 anything else.',
    '',
  ].join('\n');
}

/** Runs `l2s` with `argv` (without `node` and the script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  // Whoever reads our output went away (`l2s listen | head -1`): end quietly, as other commands do.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(EXIT.ok);
  });
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  try {
    if (!command) throw new CliError(`unknown command '${name}' (commands: ${COMMANDS.map((c) => c.name).join(', ')})`, EXIT.usage);
    const parsed = command.passthrough ? { values: {}, positionals: rest } : parse(command, rest);
    return parsed ? await command.run(parsed) : EXIT.ok;
  } catch (err) {
    process.stderr.write(`l2s: ${reasonOf(err)}\n`);
    return exitCodeOf(err);
  }
}
