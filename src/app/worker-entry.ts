// The URL a worker thread starts from: the compiled .js beside the caller under dist/, or, when
// running from source (tests, tsx), a tiny data: module that registers tsx's loader in the new
// thread first (a worker does not inherit the parent's --import hooks) and then imports the .ts.
export function workerEntry(callerUrl: string, baseName: string): URL {
  if (!callerUrl.endsWith('.ts')) return new URL(`./${baseName}.js`, callerUrl);
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL(`./${baseName}.ts`, callerUrl).href;
  const code = `const { register } = await import(${JSON.stringify(tsx)}); register(); await import(${JSON.stringify(entry)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}
