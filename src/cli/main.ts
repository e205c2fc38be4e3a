#!/usr/bin/env node
// `grok-sip` command line: dispatches to one module per subcommand, loaded lazily so that
// `grok-sip agent` never loads the SIP stack and `check-config` never opens a socket.
import { parseArgs } from 'node:util';

interface Command {
  readonly summary: string;
  readonly load: () => Promise<{ run(argv: readonly string[]): Promise<number> }>;
}

const commands: Record<string, Command> = {
  start: {
    summary: 'answer calls (SIP + RTP) and bridge them to the Grok voice agent',
    load: () => import('./start-command.js'),
  },
  agent: {
    summary: 'run the built-in local agent (echo) alone on a WebSocket port',
    load: () => import('./agent-command.js'),
  },
  'check-config': {
    summary: 'validate a config file and print the effective config, secrets masked',
    load: () => import('./check-config-command.js'),
  },
  call: {
    summary: 'place a test call to a SIP URI, play audio, record the answer, print timings',
    load: () => import('./call-command.js'),
  },
  dial: {
    summary: 'place a call with an agent through a trunk of a running instance (REST API)',
    load: () => import('./dial-command.js'),
  },
  calls: {
    summary: "list a running instance's live calls (REST API)",
    load: () => import('./calls-command.js'),
  },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(14)}${c.summary}`);
  return `usage: grok-sip <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun \`grok-sip <command> --help\` for a command's options.`;
}

export async function main(argv: readonly string[]): Promise<number> {
  const { positionals } = parseArgs({ args: [...argv], strict: false, allowPositionals: true });
  const name = positionals[0];
  if (
    name === undefined ||
    name === 'help' ||
    (argv[0] !== undefined && ['-h', '--help'].includes(argv[0]))
  ) {
    console.log(usage());
    return name === undefined && argv.length === 0 ? 2 : 0;
  }
  const command = commands[name];
  if (command === undefined) {
    console.error(`grok-sip: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const module = await command.load();
  return module.run(argv.slice(argv.indexOf(name) + 1));
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // The command is over; sip.js may still hold RFC 3261 timers (Timer D keeps a challenged
    // INVITE's transaction 32 s), which must not keep a one-shot command alive. Exit once
    // stdout has drained.
    process.stdout.write('', () => process.exit(code));
  },
  (err: unknown) => {
    console.error(`grok-sip: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
