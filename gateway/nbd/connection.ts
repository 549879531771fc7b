import type { Socket } from 'node:net'
import type { Logger } from '../../lib/logger.ts'
import type { ExportProvider } from '../../storage/volume/block-device.ts'
import { Channel } from './channel.ts'
import { negotiate, type Session } from './handshake.ts'
import type { NbdMetrics } from './nbd-metrics.ts'
import { EndOfStream } from '../../lib/socket-reader.ts'
import type { PskTls } from './tls-psk.ts'
import { Transmission, type TransmissionEnd } from './transmission.ts'

/** A client that has not entered transmission by then is dropped, so idle handshakes do not hold sockets forever. */
const HANDSHAKE_TIMEOUT_MS = 60_000

export interface ConnectionContext {
  exports: ExportProvider
  tls: PskTls | undefined
  allowed: boolean
  maxPayload: number
  metrics: NbdMetrics
  log: Logger
}

/** One client connection, from the greeting to the closed socket and device. */
export class NbdConnection {
  /** Settles when the connection is closed and its device released. */
  readonly done: Promise<void>
  private readonly channel: Channel
  private readonly context: ConnectionContext
  private readonly log: Logger
  private transmission: Transmission | undefined
  private shuttingDown = false

  constructor (socket: Socket, context: ConnectionContext) {
    this.channel = new Channel(socket)
    this.context = context
    this.log = context.log
    this.done = this.run()
  }

  /** Server stop: no new work, in-flight requests finish, then the connection closes (see Transmission.shutdown). */
  shutdown (): void {
    if (this.shuttingDown) return
    this.shuttingDown = true
    if (this.transmission !== undefined) this.transmission.shutdown()
    // Still negotiating: the option being handled finishes (answered ERR_SHUTDOWN if it opens an export), the next is not read.
    else this.channel.reader.detach()
  }

  /** Drain timeout: drop the socket; requests still running on the device finish unanswered. */
  destroy (): void {
    this.channel.destroy()
  }

  private async run (): Promise<void> {
    const { metrics } = this.context
    const started = Date.now()
    metrics.connections.inc()
    this.log.info({ allowed: this.context.allowed }, 'nbd connection opened')
    let session: Session | undefined
    let end: TransmissionEnd | 'handshake' = 'handshake'
    const socket = this.channel.socket
    const timeout = (): void => {
      this.log.warn({ timeoutMs: HANDSHAKE_TIMEOUT_MS }, 'nbd handshake timed out')
      this.channel.destroy()
    }
    socket.setTimeout(HANDSHAKE_TIMEOUT_MS, timeout)
    try {
      session = await negotiate({
        channel: this.channel,
        exports: this.context.exports,
        tls: this.context.tls,
        allowed: this.context.allowed,
        maxPayload: this.context.maxPayload,
        shuttingDown: () => this.shuttingDown,
        log: this.log
      })
      socket.setTimeout(0)
      socket.off('timeout', timeout)
      if (session !== undefined) {
        this.log.info({ export: session.exportName, readOnly: session.device.readOnly, structured: session.structured, tls: this.channel.tlsIdentity }, 'nbd export opened')
        this.transmission = new Transmission(this.channel, session, metrics, this.log.child({ export: session.exportName }))
        if (this.shuttingDown) this.transmission.shutdown()
        end = await this.transmission.run()
      }
    } catch (err) {
      if (!(err instanceof EndOfStream)) this.log.warn({ err }, 'nbd connection failed')
    } finally {
      socket.setTimeout(0)
      if (session !== undefined) {
        await session.device.close().catch((err: unknown) => { this.log.error({ err, export: session?.exportName }, 'nbd device close failed') })
      }
      await this.channel.close()
      metrics.connections.dec()
      this.log.info({ export: session?.exportName, end, requests: this.transmission?.requests ?? 0, ms: Date.now() - started }, 'nbd connection closed')
    }
  }
}
