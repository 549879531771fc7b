import { createServer } from 'node:net'

/**
 * A TCP port free on `host` right now, for programs that cannot bind port 0
 * themselves (QEMU's host forward, etcd, the bench's peer servers). Another
 * process could take it before they bind; callers retry or fail loudly.
 */
export async function freePort (host = '127.0.0.1'): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, resolve)
  })
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no port bound')
  return address.port
}
