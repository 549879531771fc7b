import type { Duplex } from 'node:stream'

/** The peer closed (or the stream failed) before the bytes asked for arrived. */
export class EndOfStream extends Error {
  constructor (cause?: unknown) {
    super('connection closed', { cause })
    this.name = 'EndOfStream'
  }
}

interface Pending {
  length: number
  resolve: (data: Buffer) => void
  reject: (err: Error) => void
}

const SKIP_PIECE = 1024 * 1024

/**
 * Exact-length reads off a socket, one at a time, with bounded buffering:
 * the stream is paused once `highWater` bytes (or the pending read's length,
 * if larger) are buffered and resumed when the parser has taken them, so a
 * parser that stops asking stops the peer (TCP flow control) instead of
 * letting data pile up in memory.
 */
export class SocketReader {
  private readonly stream: Duplex
  private readonly highWater: number
  private chunks: Buffer[] = []
  private buffered = 0
  private pending: Pending | undefined
  private ended: EndOfStream | undefined
  private paused = false
  private readonly onData = (chunk: Buffer): void => { this.push(chunk) }
  private readonly onEnd = (): void => { this.end(undefined) }
  private readonly onError = (err: Error): void => { this.end(err) }

  constructor (stream: Duplex, highWater = 256 * 1024) {
    this.stream = stream
    this.highWater = highWater
    stream.on('data', this.onData)
    stream.on('end', this.onEnd)
    stream.on('close', this.onEnd)
    stream.on('error', this.onError)
  }

  /** Bytes received but not yet read. */
  get bufferedLength (): number {
    return this.buffered
  }

  async read (length: number): Promise<Buffer> {
    if (this.pending !== undefined) throw new Error('SocketReader: one read at a time')
    if (length <= this.buffered) return this.take(length)
    if (this.ended !== undefined) throw this.ended
    return await new Promise<Buffer>((resolve, reject) => {
      this.pending = { length, resolve, reject }
      this.flow()
    })
  }

  /** Discards `length` bytes without holding more than a piece of them. */
  async skip (length: number): Promise<void> {
    for (let left = length; left > 0; left -= SKIP_PIECE) await this.read(Math.min(left, SKIP_PIECE))
  }

  /**
   * Stops listening and pauses the stream, leaving unread bytes in it (for a
   * TLS upgrade, which takes over the socket). Returns how many bytes this
   * reader still held: they belong to no one and mean the peer sent early.
   */
  detach (): number {
    this.stream.pause()
    this.stream.off('data', this.onData)
    this.stream.off('end', this.onEnd)
    this.stream.off('close', this.onEnd)
    this.stream.off('error', this.onError)
    this.end(undefined)
    return this.buffered
  }

  private push (chunk: Buffer): void {
    this.chunks.push(chunk)
    this.buffered += chunk.length
    const pending = this.pending
    if (pending !== undefined && pending.length <= this.buffered) {
      this.pending = undefined
      pending.resolve(this.take(pending.length))
    }
    this.flow()
  }

  private end (err: Error | undefined): void {
    if (this.ended !== undefined) return
    this.ended = new EndOfStream(err)
    const pending = this.pending
    this.pending = undefined
    pending?.reject(this.ended)
  }

  private flow (): void {
    const limit = Math.max(this.highWater, this.pending?.length ?? 0)
    if (this.buffered >= limit && !this.paused) {
      this.paused = true
      this.stream.pause()
    } else if (this.buffered < limit && this.paused && this.ended === undefined) {
      this.paused = false
      this.stream.resume()
    }
  }

  private take (length: number): Buffer {
    let out: Buffer
    const first = this.chunks[0]
    if (first !== undefined && first.length >= length) {
      out = first.subarray(0, length)
      if (first.length === length) this.chunks.shift()
      else this.chunks[0] = first.subarray(length)
    } else {
      out = Buffer.allocUnsafe(length)
      let at = 0
      while (at < length) {
        const chunk = this.chunks[0]!
        const n = Math.min(chunk.length, length - at)
        chunk.copy(out, at, 0, n)
        at += n
        if (n === chunk.length) this.chunks.shift()
        else this.chunks[0] = chunk.subarray(n)
      }
    }
    this.buffered -= length
    this.flow()
    return out
  }
}
