// The one config loader: YAML text → env references → schema → frozen GrokSipConfig.
// Secrets: XAI_API_KEY is the only source of realtime.apiKey; every other secret is written as a
// `${ENV_VAR}` reference in the file (see env-references.ts).
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { ConfigError, describeIssues, formatPath } from './config-errors.js';
import { resolveEnvReferences } from './env-references.js';
import { configSchema, type GrokSipConfig } from './schema.js';

export { ConfigError } from './config-errors.js';
export type { GrokSipConfig } from './schema.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Far above a real config (a few KiB); bounds YAML work on a wrong path (e.g. a binary). */
const MAX_CONFIG_BYTES = 1024 * 1024;

export function loadConfig(path: string, env: Env = process.env): GrokSipConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [`cannot read the file: ${(err as Error).message}`]);
  }
  return parseConfig(text, env, path);
}

export function parseConfig(yamlText: string, env: Env = process.env, source = 'config'): GrokSipConfig {
  if (typeof yamlText !== 'string')
    throw new TypeError(`config text must be a string, got ${typeof yamlText}`);
  if (yamlText.length > MAX_CONFIG_BYTES) {
    throw new ConfigError(source, [`the file is ${yamlText.length} bytes, limit ${MAX_CONFIG_BYTES}`]);
  }
  const doc = parseDocument(yamlText, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => {
        const at = e.linePos?.[0];
        // prettyErrors appends the position and a source excerpt; we print the position once.
        const firstLine = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '');
        return at
          ? `YAML error at line ${at.line}, column ${at.col}: ${firstLine}`
          : `YAML error: ${firstLine}`;
      }),
    );
  }
  const tree: unknown = doc.toJS({ maxAliasCount: 100 }) ?? {};
  if (typeof tree !== 'object' || Array.isArray(tree)) {
    throw new ConfigError(source, [
      'the file must be a YAML mapping of sections (sip, media, realtime, agents, ...)',
    ]);
  }

  const problems: string[] = [];
  const { value, problems: envProblems } = resolveEnvReferences(tree, env);
  for (const p of envProblems)
    problems.push(`${formatPath(p.path)}: environment variable ${p.variable} is not set`);

  const realtime = (value as Record<string, unknown>).realtime;
  if (realtime !== null && typeof realtime === 'object' && 'apiKey' in realtime) {
    problems.push('realtime.apiKey: not allowed in the file — set the XAI_API_KEY environment variable');
    delete (realtime as Record<string, unknown>).apiKey;
  }
  const apiKey = env.XAI_API_KEY;
  if (apiKey !== undefined && apiKey !== '') {
    const root = value as Record<string, unknown>;
    root.realtime = { ...(typeof realtime === 'object' && realtime !== null ? realtime : {}), apiKey };
  }

  const result = configSchema.safeParse(value);
  if (!result.success) problems.push(...describeIssues(result.error.issues, value, configSchema));
  if (problems.length > 0 || !result.success) throw new ConfigError(source, problems);
  return deepFreeze(result.data) as GrokSipConfig;
}

const SECRET_KEYS = new Set(['password', 'secret', 'apiKey', 'authToken', 'signatureSecret', 'privateKey']);

/** A copy safe to print or log: passwords, secrets, the API key and webhook headers masked. */
export function maskSecrets(config: GrokSipConfig): unknown {
  const mask = (node: unknown, key: string): unknown => {
    if (SECRET_KEYS.has(key) && typeof node === 'string') return '***';
    if (key === 'headers' && node !== null && typeof node === 'object') {
      return Object.fromEntries(Object.keys(node).map((name) => [name, '***']));
    }
    if (Array.isArray(node)) return node.map((item) => mask(item, ''));
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, mask(v, k)]));
    }
    return node;
  };
  return mask(config, '');
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}
