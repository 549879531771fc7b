import type { Socket } from 'node:net'
import type { Op } from '../../proto/gen/ringstack/block/v1/Op.ts'
import type { Result__Output } from '../../proto/gen/ringstack/block/v1/Result.ts'
import { StorageError } from '../errors.ts'
import type { FrameCodec, FrameParser } from './data-frames.ts'

/** Dials the node; the socket's bytes go to `onData` (read with `onread`, so they are only valid during the call). */
export type Dial = (onData: (data: Uint8Array) => void) => Promise<Socket>

interface Pending {
  resolve: (result: Result__Output) => void
  reject: (err: StorageError) => void
  deadline: number
}

/**
 * The client's half of one data-channel connection to a node: ops get an
 * id and go out as frames, corked per tick so a burst of callers leaves in
 * one writev; results are matched back by id in whatever order they come.
 * Ops sent before the connection is up wait for it. An op unanswered after
 * `timeoutMs` fails as Unavailable (a frozen node must not hang a write); a
 * late answer is dropped. When the connection breaks or the node ends it,
 * every unanswered op fails as Unavailable and the session is over: the
 * owner opens a new one.
 */
export class ClientSession {
  private readonly address: string
  private readonly codec: FrameCodec
  private readonly timeoutMs: number
  private readonly pending = new Map<number, Pending>()
  private socket: Socket | undefined
  /** Frames sent before the connection was up. */
  private early: Buffer[] = []
  private nextId = 1
  private corked = false
  private over: StorageError | undefined
  private sweeper: NodeJS.Timeout | undefined

  private readonly parser: FrameParser

  constructor (dial: Dial, address: string, codec: FrameCodec, timeoutMs: number) {
    this.address = address
    this.codec = codec
    this.timeoutMs = timeoutMs
    this.parser = codec.resultParser((result) => this.settle(result))
    dial((data) => this.receive(data)).then((socket) => this.attach(socket), (err: unknown) => {
      this.end(err instanceof StorageError ? err : new StorageError('Unavailable', `${address}: ${String(err)}`, { cause: err }))
    })
  }

  /** False once the connection is over; a new session is needed. */
  get open (): boolean {
    return this.over === undefined
  }

  async send (op: Omit<Op, 'id'>): Promise<Result__Output> {
    if (this.over !== undefined) throw this.over
    const id = this.nextId
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1
    const result = new Promise<Result__Output>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, deadline: Date.now() + this.timeoutMs })
    })
    this.write(this.codec.encodeOp({ ...op, id }))
    this.sweeper ??= setInterval(() => this.expire(), Math.max(20, Math.floor(this.timeoutMs / 4))).unref()
    return await result
  }

  close (): void {
    this.end(new StorageError('Unavailable', `${this.address}: the session was closed`))
  }

  private write (buffers: Buffer[]): void {
    const socket = this.socket
    if (socket === undefined) {
      this.early.push(...buffers)
      return
    }
    if (!this.corked) {
      this.corked = true
      socket.cork()
      // After the microtasks of this turn: whatever they send leaves in the same writev.
      process.nextTick(() => {
        this.corked = false
        socket.uncork()
      })
    }
    for (const buffer of buffers) socket.write(buffer)
  }

  private attach (socket: Socket): void {
    if (this.over !== undefined) {
      socket.destroy()
      return
    }
    this.socket = socket
    socket.on('error', (err) => this.end(new StorageError('Unavailable', `${this.address}: ${err.message}`, { cause: err })))
    socket.on('end', () => this.end(new StorageError('Unavailable', `${this.address}: the node ended the session`)))
    socket.on('close', () => this.end(new StorageError('Unavailable', `${this.address}: the connection closed`)))
    const early = this.early
    this.early = []
    this.write(early)
  }

  private receive (data: Uint8Array): void {
    try {
      this.parser.push(data)
    } catch (err) {
      this.end(new StorageError('Unavailable', `${this.address}: bad frame from the node: ${String(err)}`, { cause: err }))
    }
  }

  private settle (result: Result__Output): void {
    const pending = this.pending.get(result.id)
    if (pending === undefined) return
    this.pending.delete(result.id)
    pending.resolve(result)
  }

  /** Fails the ops past their deadline; the map is in send order, so the oldest come first. */
  private expire (): void {
    const now = Date.now()
    for (const [id, pending] of this.pending) {
      if (pending.deadline > now) break
      this.pending.delete(id)
      pending.reject(new StorageError('Unavailable', `${this.address}: no answer in ${this.timeoutMs} ms`))
    }
    if (this.pending.size === 0) this.stopSweeper()
  }

  private end (error: StorageError): void {
    if (this.over !== undefined) return
    this.over = error
    this.stopSweeper()
    this.early = []
    for (const pending of this.pending.values()) pending.reject(error)
    this.pending.clear()
    this.socket?.destroy()
  }

  private stopSweeper (): void {
    if (this.sweeper !== undefined) clearInterval(this.sweeper)
    this.sweeper = undefined
  }
}
