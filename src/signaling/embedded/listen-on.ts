// Binds a TCP or TLS server (a tls.Server is a net.Server) and resolves with the port it got
// (0 asks the kernel for a free one: tests); rejects on EADDRINUSE and the like.
import type { Server } from 'node:net';

export function listenOn(server: Server, address: string, port: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      const bound = server.address();
      resolve(typeof bound === 'object' && bound ? bound.port : 0);
    });
  });
}
