import { MAX_CHUNK_BYTES } from './proto.ts'

/** PutObjectRequest field 2 (`chunk`), wire type 2 (length-delimited). */
const CHUNK_TAG = (2 << 3) | 2

function varintLength (value: number): number {
  let length = 1
  for (let v = value; v >= 0x80; v = Math.floor(v / 128)) length++
  return length
}

/**
 * One PutObject body chunk, already encoded as its PutObjectRequest message.
 * A put sends every chunk to N replicas; encoding it once here (while
 * gathering the body's pieces, which has to copy anyway) spares protobuf
 * encoding it once per replica, each time into a fresh buffer.
 */
export class PutChunk {
  /** The encoded message: tag, length, body. */
  readonly message: Buffer
  /** The body bytes, a view into `message`. */
  readonly body: Buffer

  private constructor (message: Buffer, body: Buffer) {
    this.message = message
    this.body = body
  }

  /** Encodes the concatenation of `pieces` (`length` bytes, at most MAX_CHUNK_BYTES). */
  static of (pieces: readonly Uint8Array[], length: number): PutChunk {
    if (length > MAX_CHUNK_BYTES) throw new RangeError(`chunk of ${length} bytes, at most ${MAX_CHUNK_BYTES}`)
    const header = 1 + varintLength(length)
    const message = Buffer.allocUnsafe(header + length)
    message[0] = CHUNK_TAG
    let at = 1
    for (let v = length; ; v = Math.floor(v / 128)) {
      if (v < 0x80) {
        message[at++] = v
        break
      }
      message[at++] = (v & 0x7f) | 0x80
    }
    for (const piece of pieces) {
      message.set(piece, at)
      at += piece.length
    }
    if (at !== message.length) throw new RangeError(`pieces hold ${at - header} bytes, not ${length}`)
    return new PutChunk(message, message.subarray(header))
  }

  get length (): number {
    return this.body.length
  }
}
