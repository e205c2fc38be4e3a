// Turns schema issues into lines a person can act on:
//   sip.listen[0].port: 70000 is not valid — expected an integer 1–65535
//   sip.listn: unknown key — did you mean "listen"?
import type { z } from 'zod';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid configuration in ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else text += text === '' ? String(key) : `.${String(key)}`;
  }
  return text === '' ? '(top level)' : text;
}

const SECRET_KEY = /^(password|secret|apiKey)$/;

function renderValue(value: unknown, path: readonly PropertyKey[]): string {
  if (SECRET_KEY.test(String(path[path.length - 1]))) return '(the value, hidden)';
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function valueAt(tree: unknown, path: readonly PropertyKey[]): unknown {
  let node = tree;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

type AnySchema = z.core.$ZodType;

/** Keys an object schema allows at `path` (empty if not an object there). */
function keysAt(schema: AnySchema, path: readonly PropertyKey[]): string[] {
  const unwrap = (s: AnySchema): AnySchema[] => {
    const def = s._zod.def as unknown as Record<string, unknown> & { type: string };
    switch (def.type) {
      case 'optional':
      case 'default':
      case 'prefault':
      case 'nullable':
      case 'readonly':
      case 'catch':
        return unwrap(def.innerType as AnySchema);
      case 'pipe':
        return [...unwrap(def.in as AnySchema), ...unwrap(def.out as AnySchema)];
      case 'union':
        return (def.options as AnySchema[]).flatMap(unwrap);
      default:
        return [s];
    }
  };
  let current = unwrap(schema);
  for (const key of path) {
    current = current.flatMap((s) => {
      const def = s._zod.def as unknown as Record<string, unknown> & { type: string };
      if (def.type === 'object' && typeof key === 'string') {
        const child = (def.shape as Record<string, AnySchema>)[key];
        return child ? unwrap(child) : [];
      }
      if (def.type === 'array' && typeof key === 'number') return unwrap(def.element as AnySchema);
      return [];
    });
  }
  const keys = new Set<string>();
  for (const s of current) {
    const def = s._zod.def as unknown as Record<string, unknown> & { type: string };
    if (def.type === 'object') for (const k of Object.keys(def.shape as object)) keys.add(k);
  }
  return [...keys];
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      const cost = a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return row[b.length]!;
}

function unknownKey(key: string, allowed: readonly string[]): string {
  const best = allowed
    .map((candidate) => ({ candidate, distance: editDistance(key, candidate) }))
    .sort((x, y) => x.distance - y.distance)[0];
  if (best !== undefined && best.distance <= Math.max(1, Math.floor(key.length / 3))) {
    return `unknown key — did you mean "${best.candidate}"?`;
  }
  return allowed.length > 0 ? `unknown key — allowed: ${allowed.join(', ')}` : 'unknown key';
}

/** One line per problem, in the order zod found them. */
export function describeIssues(
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  schema: AnySchema,
): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const allowed = keysAt(schema, issue.path);
      for (const key of issue.keys)
        lines.push(`${formatPath([...issue.path, key])}: ${unknownKey(key, allowed)}`);
      continue;
    }
    const where = formatPath(issue.path);
    // Cross-field checks see defaulted values, which are not in the input: they pass the value along.
    const reported =
      issue.code === 'custom' ? (issue.params as { value?: unknown } | undefined)?.value : undefined;
    const value = reported !== undefined ? reported : valueAt(input, issue.path);
    const expected = issue.message;
    if (value === undefined) lines.push(`${where}: missing — expected ${expected}`);
    else lines.push(`${where}: ${renderValue(value, issue.path)} is not valid — expected ${expected}`);
  }
  return lines;
}
