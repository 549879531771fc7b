import { connect, type Socket } from 'node:net'
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls'
import type { Duplex } from 'node:stream'

/**
 * A deliberately naive NBD client for byte-level tests: it sends exactly
 * what it is told (bad magic, unknown options, requests past limits) and
 * parses what comes back.
 */

export const IHAVEOPT = 0x49484156454f5054n
export const OPT = { EXPORT_NAME: 1, ABORT: 2, LIST: 3, STARTTLS: 5, INFO: 6, GO: 7, STRUCTURED_REPLY: 8, LIST_META_CONTEXT: 9, SET_META_CONTEXT: 10 } as const
export const REP = { ACK: 1, SERVER: 2, INFO: 3, META_CONTEXT: 4, ERR_UNSUP: 0x80000001, ERR_POLICY: 0x80000002, ERR_INVALID: 0x80000003, ERR_TLS_REQD: 0x80000005, ERR_UNKNOWN: 0x80000006, ERR_SHUTDOWN: 0x80000007 } as const
export const CMD = { READ: 0, WRITE: 1, DISC: 2, FLUSH: 3 } as const

export interface OptionReply {
  option: number
  type: number
  data: Buffer
}

export interface Reply {
  cookie: bigint
  error: number
  /** Structured: chunk type; simple: -1. */
  chunkType: number
  done: boolean
  data: Buffer
}

export class RawClient {
  private stream: Duplex
  private readonly socket: Socket
  private buffered = Buffer.alloc(0)
  private waiter: (() => void) | undefined
  private ended = false
  /** Resolves when the server closed the connection. */
  readonly closed: Promise<void>
  /** Read lengths by cookie, to know how much data follows a simple reply. */
  private readonly simpleReads = new Map<bigint, number>()
  structured = false

  private constructor (socket: Socket) {
    this.socket = socket
    this.stream = socket
    this.closed = new Promise((resolve) => { socket.once('close', () => { resolve() }) })
    socket.on('error', () => {})
    this.listen(socket)
  }

  static async connect (port: number, host = '127.0.0.1'): Promise<RawClient> {
    const socket = connect(port, host)
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    return new RawClient(socket)
  }

  private listen (stream: Duplex): void {
    stream.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk])
      this.wakeUp()
    })
    stream.on('close', () => {
      this.ended = true
      this.wakeUp()
    })
    stream.on('end', () => {
      this.ended = true
      this.wakeUp()
    })
  }

  private wakeUp (): void {
    const waiter = this.waiter
    this.waiter = undefined
    waiter?.()
  }

  async read (length: number): Promise<Buffer> {
    while (this.buffered.length < length) {
      if (this.ended) throw new Error(`connection closed (${this.buffered.length} of ${length} bytes)`)
      await new Promise<void>((resolve) => { this.waiter = resolve })
    }
    const out = this.buffered.subarray(0, length)
    this.buffered = this.buffered.subarray(length)
    return out
  }

  write (data: Buffer): void {
    this.stream.write(data)
  }

  destroy (): void {
    this.stream.destroy()
    this.socket.destroy()
  }

  /** Reads the greeting and answers with client flags (fixed newstyle and no zeroes by default); returns the handshake flags. */
  async handshake (clientFlags = 3): Promise<number> {
    const greeting = await this.read(18)
    if (greeting.toString('latin1', 0, 8) !== 'NBDMAGIC' || greeting.readBigUInt64BE(8) !== IHAVEOPT) throw new Error('bad greeting')
    const flags = Buffer.alloc(4)
    flags.writeUInt32BE(clientFlags)
    this.write(flags)
    return greeting.readUInt16BE(16)
  }

  sendOption (option: number, data: Buffer = Buffer.alloc(0), magic = IHAVEOPT): void {
    const header = Buffer.alloc(16)
    header.writeBigUInt64BE(magic, 0)
    header.writeUInt32BE(option, 8)
    header.writeUInt32BE(data.length, 12)
    this.write(Buffer.concat([header, data]))
  }

  async optionReply (): Promise<OptionReply> {
    const header = await this.read(20)
    if (header.readBigUInt64BE(0) !== 0x3e889045565a9n) throw new Error('bad option reply magic')
    const length = header.readUInt32BE(16)
    return { option: header.readUInt32BE(8), type: header.readUInt32BE(12), data: await this.read(length) }
  }

  /** Replies to one option up to and including its final (ACK or error) reply. */
  async optionReplies (): Promise<OptionReply[]> {
    const replies: OptionReply[] = []
    for (;;) {
      const reply = await this.optionReply()
      replies.push(reply)
      if (reply.type === REP.ACK || reply.type >= 0x80000000) return replies
    }
  }

  /** STRUCTURED_REPLY (optionally) then GO on `name`; returns size and transmission flags. */
  async go (name: string, structured = true): Promise<{ size: number, flags: number }> {
    if (structured) {
      this.sendOption(OPT.STRUCTURED_REPLY)
      const reply = await this.optionReply()
      if (reply.type !== REP.ACK) throw new Error(`STRUCTURED_REPLY: ${reply.type}`)
      this.structured = true
    }
    this.sendOption(OPT.GO, goData(name))
    let size = -1
    let flags = -1
    for (const reply of await this.optionReplies()) {
      if (reply.type >= 0x80000000) throw new Error(`GO refused: 0x${reply.type.toString(16)} ${reply.data.toString()}`)
      if (reply.type === REP.INFO && reply.data.readUInt16BE(0) === 0) {
        size = Number(reply.data.readBigUInt64BE(2))
        flags = reply.data.readUInt16BE(10)
      }
    }
    return { size, flags }
  }

  /** Upgrades to TLS after the server ACKed STARTTLS. */
  async startTls (options: ConnectionOptions): Promise<void> {
    this.socket.removeAllListeners('data')
    const tls = tlsConnect({ ...options, socket: this.socket })
    await new Promise<void>((resolve, reject) => {
      tls.once('secureConnect', resolve)
      tls.once('error', reject)
    })
    tls.on('error', () => {})
    this.stream = tls
    this.listen(tls)
  }

  request (type: number, cookie: bigint, offset: number, length: number, options: { flags?: number, payload?: Buffer, magic?: number } = {}): void {
    const header = Buffer.alloc(28)
    header.writeUInt32BE(options.magic ?? 0x25609513, 0)
    header.writeUInt16BE(options.flags ?? 0, 4)
    header.writeUInt16BE(type, 6)
    header.writeBigUInt64BE(cookie, 8)
    header.writeBigUInt64BE(BigInt(offset), 16)
    header.writeUInt32BE(length, 24)
    if (type === CMD.READ && !this.structured) this.simpleReads.set(cookie, length)
    this.write(options.payload === undefined ? header : Buffer.concat([header, options.payload]))
  }

  /** The next reply message: a simple reply (with its read data) or one structured chunk. */
  async reply (): Promise<Reply> {
    const magic = (await this.read(4)).readUInt32BE(0)
    if (magic === 0x67446698) {
      const rest = await this.read(12)
      const cookie = rest.readBigUInt64BE(4)
      const error = rest.readUInt32BE(0)
      const length = this.simpleReads.get(cookie) ?? 0
      this.simpleReads.delete(cookie)
      return { cookie, error, chunkType: -1, done: true, data: error === 0 && length > 0 ? await this.read(length) : Buffer.alloc(0) }
    }
    if (magic !== 0x668e33ef) throw new Error(`bad reply magic 0x${magic.toString(16)}`)
    const rest = await this.read(16)
    const chunkType = rest.readUInt16BE(2)
    const data = await this.read(rest.readUInt32BE(12))
    const error = (chunkType & 0x8000) !== 0 ? data.readUInt32BE(0) : 0
    return { cookie: rest.readBigUInt64BE(4), error, chunkType, done: (rest.readUInt16BE(0) & 1) !== 0, data }
  }

  /** Chunks up to the one marked done, for one request at a time. */
  async fullReply (): Promise<Reply[]> {
    const chunks: Reply[] = []
    for (;;) {
      const chunk = await this.reply()
      chunks.push(chunk)
      if (chunk.done) return chunks
    }
  }
}

export function goData (name: string, infos: number[] = []): Buffer {
  const nameBytes = Buffer.from(name)
  const out = Buffer.alloc(6 + nameBytes.length + 2 * infos.length)
  out.writeUInt32BE(nameBytes.length, 0)
  nameBytes.copy(out, 4)
  out.writeUInt16BE(infos.length, 4 + nameBytes.length)
  infos.forEach((info, i) => out.writeUInt16BE(info, 6 + nameBytes.length + 2 * i))
  return out
}

export function metaContextData (name: string, queries: string[]): Buffer {
  const parts = [Buffer.alloc(4), Buffer.from(name), Buffer.alloc(4)]
  parts[0]!.writeUInt32BE(Buffer.byteLength(name))
  parts[2]!.writeUInt32BE(queries.length)
  for (const query of queries) {
    const length = Buffer.alloc(4)
    length.writeUInt32BE(Buffer.byteLength(query))
    parts.push(length, Buffer.from(query))
  }
  return Buffer.concat(parts)
}
