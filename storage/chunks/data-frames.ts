import protobuf from 'protobufjs'
import type { Op, Op__Output } from '../../proto/gen/ringstack/block/v1/Op.ts'
import type { Result, Result__Output } from '../../proto/gen/ringstack/block/v1/Result.ts'
import type { SocketReader } from '../../lib/socket-reader.ts'
import { MAX_CHUNK_MESSAGE_BYTES } from './chunk-layout.ts'
import { packagePath } from '../../lib/package-path.ts'

/**
 * The data channel's framing (proto/block.proto, ChunkStore.DataChannel):
 * `uint32 header length | uint32 payload length | header | payload`, the
 * header an Op or a Result without its bytes, which ride as the payload so
 * they are written to the socket and to disk without being copied into a
 * protobuf message first.
 */
const PREFIX_BYTES = 8
/** Headers are a handful of ids, versions and a message: anything larger is garbage. */
const MAX_HEADER_BYTES = 64 * 1024
const EMPTY = Buffer.alloc(0)
const READ_BUFFER_BYTES = 1024 * 1024
const PROTO_PATH = packagePath('proto', 'block.proto')
/** As the gRPC side decodes (proto-loader options), so the generated __Output types hold. */
const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, defaults: true, oneofs: true }

export class FrameError extends Error {}

export interface Frame<T> {
  header: T
  payload: Buffer
}

/** Encodes and decodes the data channel's headers; parsed from the proto once per codec. */
export class FrameCodec {
  /**
   * Where client sockets of this codec read into (net `onread`): one
   * syscall takes up to a whole chunk read, and no buffer is allocated per
   * read. Shared, as parsers copy out what they keep before returning.
   */
  readonly readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES)
  private readonly op: protobuf.Type
  private readonly result: protobuf.Type

  constructor () {
    const root = protobuf.loadSync(PROTO_PATH)
    this.op = root.lookupType('ringstack.block.v1.Op')
    this.result = root.lookupType('ringstack.block.v1.Result')
  }

  /** The buffers to write for one op: its write's data goes out as the payload, untouched. */
  encodeOp (op: Op): Buffer[] {
    const data = op.write?.data
    if (data === undefined || typeof data === 'string' || data.length === 0) return frame(this.op.encode(op).finish(), EMPTY)
    return frame(this.op.encode({ ...op, write: { ...op.write, data: EMPTY } }).finish(), Buffer.from(data.buffer, data.byteOffset, data.length))
  }

  encodeResult (result: Result): Buffer[] {
    const data = result.data
    if (data === undefined || typeof data === 'string' || data.length === 0) return frame(this.result.encode(result).finish(), EMPTY)
    return frame(this.result.encode({ ...result, data: EMPTY }).finish(), Buffer.from(data.buffer, data.byteOffset, data.length))
  }

  async readOp (reader: SocketReader): Promise<Op__Output> {
    const { header, payload } = await readFrame(reader)
    const op = this.op.toObject(this.op.decode(header), TO_OBJECT) as Op__Output
    if (op.write?.change === 'data') op.write.data = payload
    return op
  }

  /** A parser of result frames for a socket read with `onread` into readBuffer. */
  resultParser (onResult: (result: Result__Output) => void): FrameParser {
    return new FrameParser((header, payload) => {
      const result = this.result.toObject(this.result.decode(header), TO_OBJECT) as Result__Output
      result.data = payload
      onResult(result)
    })
  }
}

/**
 * Frames out of transient buffers: whatever it keeps it copies out before
 * push() returns (a payload straight into a buffer of its own size).
 */
export class FrameParser {
  private readonly onFrame: (header: Buffer, payload: Buffer) => void
  private readonly prefix = Buffer.allocUnsafe(PREFIX_BYTES)
  private prefixFill = 0
  private header: Buffer | undefined
  private headerFill = 0
  private payload: Buffer | undefined
  private payloadFill = 0

  constructor (onFrame: (header: Buffer, payload: Buffer) => void) {
    this.onFrame = onFrame
  }

  /** Throws FrameError on a frame over the limits; the stream is unusable then. */
  push (data: Uint8Array): void {
    let at = 0
    while (at < data.length) {
      if (this.header === undefined) {
        const n = Math.min(PREFIX_BYTES - this.prefixFill, data.length - at)
        this.prefix.set(data.subarray(at, at + n), this.prefixFill)
        this.prefixFill += n
        at += n
        if (this.prefixFill < PREFIX_BYTES) return
        const { headerLength, payloadLength } = checkedLengths(this.prefix)
        this.header = Buffer.allocUnsafe(headerLength)
        this.payload = payloadLength === 0 ? EMPTY : Buffer.allocUnsafe(payloadLength)
        this.headerFill = 0
        this.payloadFill = 0
      }
      const header = this.header
      const payload = this.payload!
      if (this.headerFill < header.length) {
        const n = Math.min(header.length - this.headerFill, data.length - at)
        header.set(data.subarray(at, at + n), this.headerFill)
        this.headerFill += n
        at += n
      }
      if (this.headerFill === header.length && this.payloadFill < payload.length) {
        const n = Math.min(payload.length - this.payloadFill, data.length - at)
        payload.set(data.subarray(at, at + n), this.payloadFill)
        this.payloadFill += n
        at += n
      }
      if (this.headerFill === header.length && this.payloadFill === payload.length) {
        this.header = undefined
        this.payload = undefined
        this.prefixFill = 0
        this.onFrame(header, payload)
      }
    }
  }
}

function checkedLengths (prefix: Buffer): { headerLength: number, payloadLength: number } {
  const headerLength = prefix.readUInt32BE(0)
  const payloadLength = prefix.readUInt32BE(4)
  if (headerLength > MAX_HEADER_BYTES) throw new FrameError(`frame header of ${headerLength} bytes`)
  if (payloadLength > MAX_CHUNK_MESSAGE_BYTES) throw new FrameError(`frame payload of ${payloadLength} bytes`)
  return { headerLength, payloadLength }
}

function frame (header: Uint8Array, payload: Buffer): Buffer[] {
  const head = Buffer.allocUnsafe(PREFIX_BYTES + header.length)
  head.writeUInt32BE(header.length, 0)
  head.writeUInt32BE(payload.length, 4)
  head.set(header, PREFIX_BYTES)
  return payload.length === 0 ? [head] : [head, payload]
}

async function readFrame (reader: SocketReader): Promise<Frame<Buffer>> {
  const { headerLength, payloadLength } = checkedLengths(await reader.read(PREFIX_BYTES))
  const header = await reader.read(headerLength)
  const payload = payloadLength === 0 ? EMPTY : await reader.read(payloadLength)
  return { header, payload }
}
