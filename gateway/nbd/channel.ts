import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { ReplyWriter } from './replies.ts'
import { SocketReader } from '../../lib/socket-reader.ts'
import type { PskTls } from './tls-psk.ts'

/** How long a closed channel waits for the peer to close its side before dropping the socket. */
const CLOSE_GRACE_MS = 2000

/**
 * The byte stream of one connection: plain TCP, or TLS over it after
 * NBD_OPT_STARTTLS. Readers and writers follow the switch.
 */
export class Channel {
  readonly socket: Socket
  private stream: Duplex
  reader: SocketReader
  readonly writer: ReplyWriter
  /** The PSK identity once TLS is up. */
  tlsIdentity: string | undefined
  /** Protocol and cipher once TLS is up, for the log. */
  tlsParameters: { protocol: string, cipher: string } | undefined

  constructor (socket: Socket) {
    this.socket = socket
    this.stream = socket
    socket.setNoDelay(true)
    // Errors surface as the reader's end of stream; this only keeps them from being unhandled.
    socket.on('error', () => {})
    this.reader = new SocketReader(socket)
    this.writer = new ReplyWriter(socket)
  }

  get tls (): boolean {
    return this.tlsIdentity !== undefined
  }

  /**
   * Hands the socket to TLS. Called right after reading STARTTLS and before
   * acknowledging it, so the client's first TLS bytes are not taken by the
   * plain reader; `acknowledge` sends the ACK in the clear. Returns false
   * when the client had already sent more (a protocol violation).
   */
  async startTls (psk: PskTls, acknowledge: () => void): Promise<boolean> {
    if (this.reader.detach() !== 0) return false
    acknowledge()
    const session = await psk.upgrade(this.socket)
    session.socket.on('error', () => {})
    this.stream = session.socket
    this.tlsIdentity = session.identity
    this.tlsParameters = { protocol: session.protocol, cipher: session.cipher }
    this.reader = new SocketReader(session.socket)
    this.writer.switchTo(session.socket)
    return true
  }

  /** Ends the stream (TLS close_notify, then FIN) once queued replies are out, and drops the socket if the peer lingers. */
  async close (): Promise<void> {
    if (this.socket.destroyed) return
    // Whatever the client still sends is dropped, so its FIN (and our 'close') is not stuck behind paused data.
    this.reader.detach()
    this.stream.on('data', () => {})
    this.stream.resume()
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => { this.destroy() }, CLOSE_GRACE_MS)
      this.socket.once('close', () => {
        clearTimeout(timer)
        resolve()
      })
      this.stream.end()
    })
  }

  destroy (): void {
    this.stream.destroy()
    this.socket.destroy()
  }
}
