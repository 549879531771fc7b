import { createServer } from 'node:net'

/**
 * A TCP port free on `host` right now, for QEMU's host forward. Another
 * process could take it before QEMU binds; QEMU then fails to start and
 * the start is retried with a fresh port.
 */
export async function freePort (host: string): Promise<number> {
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
