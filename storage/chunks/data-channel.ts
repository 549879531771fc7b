import { createServer, type Server, type Socket } from 'node:net'
import type { Startable } from '../../lib/lifecycle.ts'

/**
 * The node's data-channel listener (proto/block.proto, ChunkStore.DataChannel):
 * plain TCP next to the gRPC port, each accepted connection handed to
 * `accept` (which runs a session on it). Same trust as the gRPC port: the
 * storage network.
 */
export class DataChannelListener implements Startable {
  private readonly host: string
  private readonly requestedPort: number
  private readonly accept: (socket: Socket) => void
  private server: Server | undefined
  private bound = 0

  constructor (host: string, port: number, accept: (socket: Socket) => void) {
    this.host = host
    this.requestedPort = port
    this.accept = accept
  }

  /** The bound port (the ephemeral one when configured as 0), valid after start(). */
  get port (): number {
    return this.bound
  }

  async start (): Promise<void> {
    const server = createServer({ noDelay: true }, this.accept)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.requestedPort, this.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    const address = server.address()
    this.bound = typeof address === 'object' && address !== null ? address.port : 0
    this.server = server
  }

  /** Stops accepting; connections end with their sessions (ChunkService.close). */
  async stop (): Promise<void> {
    const server = this.server
    this.server = undefined
    if (server === undefined) return
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
