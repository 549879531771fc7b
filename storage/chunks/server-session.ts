import type { Socket } from 'node:net'
import type { Op__Output } from '../../proto/gen/ringstack/block/v1/Op.ts'
import type { Result } from '../../proto/gen/ringstack/block/v1/Result.ts'
import type { Logger } from '../../lib/logger.ts'
import { EndOfStream, SocketReader } from '../../lib/socket-reader.ts'
import type { FrameCodec } from './data-frames.ts'

/** Ops are read ahead up to this many bytes before the socket is paused (TCP then holds the client back). */
const READ_AHEAD_BYTES = 4 * 1024 * 1024

/**
 * The node's half of one data-channel connection: every arriving op starts
 * at once (ops of one chunk queue on its lock, in arrival order), and
 * results are written as they complete, corked per event-loop turn so they
 * leave in one writev. While the client does not take its results (the
 * socket's buffer is full), no further ops are read. Ends once the client
 * has closed (or the node is stopping) and every op is answered.
 */
export class ServerSession {
  /** Settles when the connection is over, answered or cut. */
  readonly finished: Promise<void>
  private readonly socket: Socket
  private readonly codec: FrameCodec
  private readonly execute: (op: Op__Output) => Promise<Result>
  private readonly logger: Logger
  private active = 0
  private inputEnded = false
  private closing = false
  private corked = false
  private done = false
  private resolveFinished!: () => void

  constructor (socket: Socket, codec: FrameCodec, execute: (op: Op__Output) => Promise<Result>, logger: Logger) {
    this.socket = socket
    this.codec = codec
    this.execute = execute
    this.logger = logger
    this.finished = new Promise((resolve) => { this.resolveFinished = resolve })
    socket.setNoDelay(true)
    // The client went away: ops under way still complete on disk, their answers have nowhere to go.
    socket.on('error', () => this.finish())
    socket.on('close', () => this.finish())
    void this.readOps(new SocketReader(socket, READ_AHEAD_BYTES))
  }

  /** Stops taking ops (they are refused as Unavailable), answers those under way, then ends the connection. */
  async close (): Promise<void> {
    this.closing = true
    this.maybeEnd()
    await this.finished
  }

  private async readOps (reader: SocketReader): Promise<void> {
    try {
      while (!this.done) {
        if (this.socket.writableNeedDrain) await new Promise((resolve) => this.socket.once('drain', resolve))
        this.dispatch(await this.codec.readOp(reader))
      }
    } catch (err) {
      if (!(err instanceof EndOfStream)) {
        this.logger.warn({ err: String(err), peer: this.socket.remoteAddress }, 'chunk data channel: bad frame, closing the connection')
        this.socket.destroy()
        return
      }
    }
    this.inputEnded = true
    this.maybeEnd()
  }

  private dispatch (op: Op__Output): void {
    if (this.closing) {
      this.reply({ id: op.id, error: { code: 'Unavailable', message: 'the storage node is stopping' } })
      return
    }
    this.active++
    void this.execute(op).then((result) => {
      this.active--
      this.reply(result)
      this.maybeEnd()
    })
  }

  private reply (result: Result): void {
    if (this.done) return
    if (!this.corked) {
      this.corked = true
      this.socket.cork()
      setImmediate(() => {
        this.corked = false
        this.socket.uncork()
      })
    }
    for (const buffer of this.codec.encodeResult(result)) this.socket.write(buffer)
  }

  private maybeEnd (): void {
    if (this.done || !(this.inputEnded || this.closing) || this.active > 0) return
    this.socket.end()
    this.finish()
  }

  private finish (): void {
    if (this.done) return
    this.done = true
    this.resolveFinished()
  }
}
