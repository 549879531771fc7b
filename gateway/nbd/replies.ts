import type { Duplex } from 'node:stream'
import { Chunk, OPTION_REPLY_MAGIC, ReplyFlag, SIMPLE_REPLY_MAGIC, STRUCTURED_REPLY_MAGIC } from './protocol.ts'

/** Error messages are strings; the spec caps them at 4096 bytes. */
const MAX_MESSAGE = 4096

function utf8 (text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8')
  return bytes.length <= MAX_MESSAGE ? bytes : bytes.subarray(0, MAX_MESSAGE)
}

export function optionReply (option: number, type: number, data: Buffer = Buffer.alloc(0)): Buffer[] {
  const header = Buffer.allocUnsafe(20)
  header.writeBigUInt64BE(OPTION_REPLY_MAGIC, 0)
  header.writeUInt32BE(option, 8)
  header.writeUInt32BE(type, 12)
  header.writeUInt32BE(data.length, 16)
  return data.length === 0 ? [header] : [header, data]
}

export function optionError (option: number, type: number, message: string): Buffer[] {
  return optionReply(option, type, utf8(message))
}

export function simpleReply (cookie: Buffer, error: number, data?: Buffer): Buffer[] {
  const header = Buffer.allocUnsafe(16)
  header.writeUInt32BE(SIMPLE_REPLY_MAGIC, 0)
  header.writeUInt32BE(error, 4)
  cookie.copy(header, 8)
  return data === undefined || data.length === 0 ? [header] : [header, data]
}

function chunkHeader (cookie: Buffer, done: boolean, type: number, length: number): Buffer {
  const header = Buffer.allocUnsafe(20)
  header.writeUInt32BE(STRUCTURED_REPLY_MAGIC, 0)
  header.writeUInt16BE(done ? ReplyFlag.DONE : 0, 4)
  header.writeUInt16BE(type, 6)
  cookie.copy(header, 8)
  header.writeUInt32BE(length, 16)
  return header
}

/** Structured reply chunks; `done` marks the last chunk of a reply. */
export const chunks = {
  none (cookie: Buffer): Buffer[] {
    return [chunkHeader(cookie, true, Chunk.NONE, 0)]
  },

  data (cookie: Buffer, done: boolean, offset: number, data: Buffer): Buffer[] {
    const header = Buffer.allocUnsafe(28)
    chunkHeader(cookie, done, Chunk.OFFSET_DATA, 8 + data.length).copy(header)
    header.writeBigUInt64BE(BigInt(offset), 20)
    return [header, data]
  },

  hole (cookie: Buffer, done: boolean, offset: number, length: number): Buffer[] {
    const out = Buffer.allocUnsafe(32)
    chunkHeader(cookie, done, Chunk.OFFSET_HOLE, 12).copy(out)
    out.writeBigUInt64BE(BigInt(offset), 20)
    out.writeUInt32BE(length, 28)
    return [out]
  },

  /** One descriptor list for one metadata context: [length, flags] pairs. */
  blockStatus (cookie: Buffer, done: boolean, contextId: number, descriptors: ReadonlyArray<readonly [number, number]>): Buffer[] {
    const payload = Buffer.allocUnsafe(4 + 8 * descriptors.length)
    payload.writeUInt32BE(contextId, 0)
    descriptors.forEach(([length, flags], i) => {
      payload.writeUInt32BE(length, 4 + 8 * i)
      payload.writeUInt32BE(flags, 8 + 8 * i)
    })
    return [chunkHeader(cookie, done, Chunk.BLOCK_STATUS, payload.length), payload]
  },

  error (cookie: Buffer, done: boolean, errno: number, message: string): Buffer[] {
    const text = utf8(message)
    const payload = Buffer.allocUnsafe(6 + text.length)
    payload.writeUInt32BE(errno, 0)
    payload.writeUInt16BE(text.length, 4)
    text.copy(payload, 6)
    return [chunkHeader(cookie, done, Chunk.ERROR, payload.length), payload]
  },

  errorAt (cookie: Buffer, done: boolean, errno: number, message: string, offset: number): Buffer[] {
    const text = utf8(message)
    const payload = Buffer.allocUnsafe(14 + text.length)
    payload.writeUInt32BE(errno, 0)
    payload.writeUInt16BE(text.length, 4)
    text.copy(payload, 6)
    payload.writeBigUInt64BE(BigInt(offset), 6 + text.length)
    return [chunkHeader(cookie, done, Chunk.ERROR_OFFSET, payload.length), payload]
  }
}

/**
 * Writes whole messages to the connection's current stream (plain or TLS).
 * A message's buffers go out back to back, so replies to concurrent
 * requests never interleave inside a message. The stream stays corked
 * until the event loop's next turn, so every reply completed in this one
 * leaves in one writev: a syscall costs more here than building a reply.
 * `ready()` is how the request
 * loop honours backpressure: it reads no new request while the socket has
 * more queued than its high-water mark.
 */
export class ReplyWriter {
  private stream: Duplex
  private drained: Promise<void> | undefined
  private corked = false

  constructor (stream: Duplex) {
    this.stream = stream
  }

  /** Replies go to the TLS stream after STARTTLS. */
  switchTo (stream: Duplex): void {
    this.stream = stream
    this.drained = undefined
  }

  /** False once the stream can take no more (peer gone, or closing). */
  get open (): boolean {
    return !this.stream.destroyed && !this.stream.writableEnded
  }

  send (message: readonly Buffer[]): void {
    if (!this.open) return
    const stream = this.stream
    if (!this.corked) {
      this.corked = true
      stream.cork()
      setImmediate(() => {
        this.corked = false
        stream.uncork()
      })
    }
    let room = true
    for (const buffer of message) room = stream.write(buffer)
    if (!room && this.drained === undefined) {
      this.drained = new Promise<void>((resolve) => {
        const done = (): void => {
          stream.off('drain', done)
          stream.off('close', done)
          this.drained = undefined
          resolve()
        }
        stream.on('drain', done)
        stream.on('close', done)
      })
    }
  }

  async ready (): Promise<void> {
    if (this.drained !== undefined) await this.drained
  }
}
