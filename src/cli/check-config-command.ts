// `grok-sip check-config`: validates a config file and prints the effective config, secrets masked.
// Exit 0 when valid, 1 with one line per problem (key path, bad value, what is allowed) when not.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, maskSecrets } from '../config/load-config.js';

const usage = 'usage: grok-sip check-config [--config sip-config/grok-sip.yaml]';

export async function run(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help === true) {
    console.log(usage);
    return 0;
  }
  const file = values.config ?? 'sip-config/grok-sip.yaml';
  try {
    const config = loadConfig(file);
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
