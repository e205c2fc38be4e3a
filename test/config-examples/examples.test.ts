// Every sip-config/examples/**/*.yaml passes `grok-sip check-config` (a real CLI process), with
// each ${ENV_VAR} it references set to a placeholder — and fails when one is left unset.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLES = join(ROOT, 'sip-config/examples');

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? yamlFiles(join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : [],
    )
    .sort();
}

function checkConfig(
  file: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'check-config', '--config', file],
      { cwd: ROOT, env: { ...process.env, XAI_API_KEY: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** ${NAME} references in the file (not $${ escapes, not in comments). */
function envReferences(text: string): string[] {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const code = line.replace(/(^|\s)#.*$/, '');
    for (const m of code.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) names.add(m[1]!);
  }
  return [...names];
}

const files = yamlFiles(EXAMPLES);

t.test('there are examples to check', async (t) => {
  t.ok(files.length >= 2, `${files.length} example files`);
});

for (const file of files) {
  const name = relative(ROOT, file);
  t.test(`check-config ${name}`, async (t) => {
    const refs = envReferences(readFileSync(file, 'utf8'));
    const env = Object.fromEntries(refs.map((v) => [v, 'placeholder-secret']));
    const result = await checkConfig(file, env);
    t.equal(result.code, 0, `exit 0 ${result.stderr.slice(-600)}`);
    const effective = JSON.parse(result.stdout) as { agents: { profiles: unknown[] } };
    t.ok(effective.agents.profiles.length >= 1, 'the effective config has an agent');
    t.notMatch(result.stdout, /placeholder-secret/, 'secrets from the environment are masked');
    if (refs.length > 0) {
      const missing = await checkConfig(file, {});
      t.equal(missing.code, 1, `without ${refs.join(', ')} the check fails`);
      t.match(missing.stderr, new RegExp(`environment variable ${refs[0]} is not set`));
    }
  });
}
