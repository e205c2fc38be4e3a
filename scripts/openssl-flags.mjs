// Compiler flags for building native/ outside Node (fuzz targets, benchmarks): srtp.cc includes
// <openssl/...>, which the addon takes from Node's own include directory (the OpenSSL Node ships;
// the addon links nothing, Node exports the symbols). A standalone program uses the same headers
// and links the system's libcrypto.so.3 (Debian libssl3: present on any machine with Node or curl;
// OpenSSL 3.x keeps its ABI, so Node's 3.0 headers fit it).
import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Node's include directory holding openssl/evp.h: beside the node binary, else cmake-js's or node-gyp's copy. */
export function nodeOpensslInclude() {
  const version = process.version;
  const candidates = [
    path.join(path.dirname(process.execPath), '..', 'include', 'node'),
    path.join(os.homedir(), '.cmake-js', `node-${process.arch}`, version, 'include', 'node'),
    path.join(os.homedir(), '.cache', 'node-gyp', version.slice(1), 'include', 'node'),
  ];
  const cmakeJs = path.join(os.homedir(), '.cmake-js');
  if (existsSync(cmakeJs)) {
    for (const d of readdirSync(cmakeJs)) candidates.push(path.join(cmakeJs, d, version, 'include', 'node'));
  }
  return candidates.find((dir) => existsSync(path.join(dir, 'openssl', 'evp.h')));
}

/** `-I` for Node's OpenSSL headers and the libcrypto to link; throws when the headers are missing. */
export function opensslFlags() {
  const include = nodeOpensslInclude();
  if (include === undefined) {
    throw new Error(
      "Node's OpenSSL headers not found (include/node/openssl beside node, or ~/.cmake-js): run `npm run build:native` once",
    );
  }
  return { compile: [`-I${include}`], link: ['-l:libcrypto.so.3'] };
}
