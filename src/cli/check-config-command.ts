// `grok-sip check-config [FILE]`: validates a config file and prints the effective config, secrets
// masked. The file is a positional argument (as `promtool check config FILE`) or `--config/-c`
// (as `start`); given both ways it must be the same file. Exit 0 when valid, 1 with one line per
// problem (key path, bad value, what is allowed) when not or when the file is missing or cannot be
// read, 2 on a usage error. TLS listeners' certificate, key and CA files are read and checked
// too (as `start` would), and each certificate's subject and expiry printed to stderr.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, maskSecrets, type GrokSipConfig } from '../config/load-config.js';
import { TlsCredentials } from '../signaling/embedded/tls-credentials.js';

const defaultFile = 'sip-config/grok-sip.yaml';

const usage = `usage: grok-sip check-config [FILE]
       grok-sip check-config --config FILE

Validates a configuration file and prints the effective configuration, secrets masked.

  FILE, -c, --config FILE  the file to check (default ${defaultFile}); given both
                           ways, both must name the same file
  -h, --help               this text

exit status: 0 valid, 1 invalid (one line per problem), missing or unreadable, 2 usage error`;

class UsageError extends Error {}

/** The file to check, from `FILE` and/or `--config FILE`; a UsageError when they disagree. */
function fileFrom(argv: readonly string[]): { file: string } | { help: true } {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    // parseArgs names the unknown option or the missing value.
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  if (values.help === true) return { help: true };
  if (positionals.length > 1) {
    throw new UsageError(`one config file at a time (got ${positionals.length}: ${positionals.join(', ')})`);
  }
  const positional = positionals[0];
  const option = values.config;
  if (positional !== undefined && option !== undefined && path.resolve(positional) !== path.resolve(option)) {
    throw new UsageError(`two different config files: '${positional}' and --config '${option}'`);
  }
  const file = positional ?? option ?? defaultFile;
  if (file === '') throw new UsageError('the config file name is empty');
  return { file };
}

// Synchronous work behind the commands' common async signature (main.ts).
export function run(argv: readonly string[]): Promise<number> {
  return Promise.resolve(check(argv));
}

function check(argv: readonly string[]): number {
  let args;
  try {
    args = fileFrom(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`grok-sip check-config: ${err.message}\n\n${usage}`);
    return 2;
  }
  if ('help' in args) {
    console.log(usage);
    return 0;
  }
  const { file } = args;
  if (!existsSync(file)) {
    console.error(`${file}: no such file`);
    return 1;
  }
  try {
    const config = loadConfig(file);
    const tlsProblems = checkTlsFiles(config);
    if (tlsProblems.length > 0) throw new ConfigError(file, tlsProblems);
    console.log(JSON.stringify(maskSecrets(config), null, 2));
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`${file}: invalid config\n${err.problems.map((p) => `  ${p}`).join('\n')}`);
      return 1;
    }
    throw err;
  }
}

/** Reads each TLS listener's files as `start` will; a problem per listener that fails. */
function checkTlsFiles(config: GrokSipConfig): string[] {
  const problems: string[] = [];
  config.sip.listen.forEach((listener, i) => {
    if (listener.transport !== 'tls') return;
    try {
      const { subject, validTo } = new TlsCredentials(listener).summary;
      console.error(`sip.listen[${i}]: TLS certificate ${subject}, valid until ${validTo}`);
    } catch (err) {
      problems.push(`sip.listen[${i}]: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  return problems;
}
