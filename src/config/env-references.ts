// `${NAME}` in any string value of the config is replaced by the environment variable NAME, so
// secrets (registration and digest passwords, drachtio secret, webhook tokens) stay out of the
// file. `$${` writes a literal `${`. A reference to an unset variable is a config error.
const REFERENCE = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export interface EnvProblem {
  readonly path: readonly (string | number)[];
  readonly variable: string;
}

/** Returns a copy of `tree` with references substituted, and every unset variable found. */
export function resolveEnvReferences(
  tree: unknown,
  env: Readonly<Record<string, string | undefined>>,
): { value: unknown; problems: EnvProblem[] } {
  const problems: EnvProblem[] = [];
  const visit = (node: unknown, path: (string | number)[]): unknown => {
    if (typeof node === 'string') {
      return node.replace(REFERENCE, (whole, escaped: string, variable: string) => {
        if (escaped) return whole.slice(1);
        const value = env[variable];
        if (value === undefined) {
          problems.push({ path, variable });
          return '';
        }
        return value;
      });
    }
    if (Array.isArray(node)) return node.map((item, i) => visit(item, [...path, i]));
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(
        Object.entries(node).map(([key, item]) => [key, visit(item, [...path, key])]),
      );
    }
    return node;
  };
  return { value: visit(tree, []), problems };
}
