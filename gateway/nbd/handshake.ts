import type { Logger } from '../../lib/logger.ts'
import type { BlockDevice, BlockSizes, ExportProvider } from '../../storage/volume/block-device.ts'
import type { Channel } from './channel.ts'
import { exportReplyOf } from './errno.ts'
import {
  advertisedSizes, exportNameOf, infoBlockSize, infoExport, infoString, InvalidOption, matchContexts,
  metaContextReply, parseInfoRequest, parseMetaContextRequest, serverReply, transmissionFlags
} from './option-data.ts'
import {
  BASE_ALLOCATION, CLIENT_FLAGS_KNOWN, FLAG_FIXED_NEWSTYLE, FLAG_NO_ZEROES, IHAVEOPT, Info, NBDMAGIC,
  Option, OPTION_HEADER_LENGTH, Rep
} from './protocol.ts'
import { optionError, optionReply } from './replies.ts'
import type { PskTls } from './tls-psk.ts'

/**
 * Known options carry a few strings; anything this long is not a client
 * negotiating but one trying to make the server buffer, which the spec lets
 * a server end with a hard disconnect.
 */
const MAX_OPTION_DATA = 64 * 1024

/** The one metadata context, base:allocation, has this id. */
export const ALLOCATION_CONTEXT_ID = 1

/** What option haggling agreed on; transmission starts from it. */
export interface Session {
  exportName: string
  device: BlockDevice
  structured: boolean
  /** BLOCK_STATUS is allowed: base:allocation was selected for this export. */
  blockStatus: boolean
  sizes: BlockSizes
  flags: number
}

export interface HandshakeContext {
  channel: Channel
  exports: ExportProvider
  /** Set when the server requires TLS (FORCEDTLS mode). */
  tls: PskTls | undefined
  /** False for a client address outside the allow list: every option but ABORT gets NBD_REP_ERR_POLICY. */
  allowed: boolean
  maxPayload: number
  shuttingDown: () => boolean
  log: Logger
}

/** Ends negotiation without a session (client aborted, or the server hangs up). */
class HangUp extends Error {}

/**
 * Fixed newstyle option haggling. Resolves with the session when the client
 * enters transmission (GO or EXPORT_NAME), or undefined when the connection
 * should just be closed; I/O errors reject.
 */
export async function negotiate (context: HandshakeContext): Promise<Session | undefined> {
  try {
    return await new Negotiation(context).run()
  } catch (err) {
    if (err instanceof HangUp) return undefined
    throw err
  }
}

class Negotiation {
  private readonly c: HandshakeContext
  private noZeroes = false
  private structured = false
  /** The export the last SET_META_CONTEXT selected base:allocation for. */
  private metaExport: string | undefined

  constructor (context: HandshakeContext) {
    this.c = context
  }

  private get log (): Logger {
    return this.c.log
  }

  async run (): Promise<Session | undefined> {
    const { channel } = this.c
    const greeting = Buffer.alloc(18)
    greeting.writeBigUInt64BE(NBDMAGIC, 0)
    greeting.writeBigUInt64BE(IHAVEOPT, 8)
    greeting.writeUInt16BE(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES, 16)
    channel.writer.send([greeting])
    const clientFlags = (await channel.reader.read(4)).readUInt32BE(0)
    if ((clientFlags & ~CLIENT_FLAGS_KNOWN) !== 0) return this.violation('unknown client flags', { clientFlags })
    // TLS needs fixed newstyle; without it a TLS-only server can offer nothing.
    if (this.c.tls !== undefined && (clientFlags & FLAG_FIXED_NEWSTYLE) === 0) return this.violation('client without fixed newstyle, TLS required')
    this.noZeroes = (clientFlags & FLAG_NO_ZEROES) !== 0
    for (;;) {
      // Stopping: a connection still negotiating is simply closed (it has nothing in flight).
      if (this.c.shuttingDown()) throw new HangUp()
      const header = await channel.reader.read(OPTION_HEADER_LENGTH)
      if (header.readBigUInt64BE(0) !== IHAVEOPT) return this.violation('bad option magic')
      const option = header.readUInt32BE(8)
      const length = header.readUInt32BE(12)
      if (length > MAX_OPTION_DATA) return this.violation('option data too long', { option, length })
      const data = await channel.reader.read(length)
      const session = await this.option(option, data)
      if (session !== undefined) return session
    }
  }

  private violation (message: string, details: Record<string, unknown> = {}): never {
    this.log.warn(details, `nbd protocol violation: ${message}`)
    throw new HangUp()
  }

  /** EXPORT_NAME has no error reply: a refusal can only close the connection. */
  private refuseExportName (message: string): never {
    this.log.info(`nbd EXPORT_NAME refused: ${message}`)
    throw new HangUp()
  }

  private reply (option: number, type: number, data?: Buffer): void {
    this.c.channel.writer.send(optionReply(option, type, data))
  }

  private refuse (option: number, type: number, message: string): void {
    this.c.channel.writer.send(optionError(option, type, message))
  }

  /** Handles one option; a session means transmission begins. */
  private async option (option: number, data: Buffer): Promise<Session | undefined> {
    const { channel } = this.c
    if (option === Option.ABORT) {
      this.reply(option, Rep.ACK)
      throw new HangUp()
    }
    // EXPORT_NAME cannot be answered with an error: each refusal below closes instead.
    const refusal = this.refusal(option)
    if (refusal !== undefined) {
      if (option === Option.EXPORT_NAME) return this.refuseExportName(refusal.message)
      this.refuse(option, refusal.type, refusal.message)
      return undefined
    }
    try {
      switch (option) {
        case Option.EXPORT_NAME: return await this.exportName(exportNameOf(data))
        case Option.LIST: await this.list(data); return undefined
        case Option.STARTTLS: await this.startTls(data); return undefined
        case Option.INFO:
        case Option.GO: return await this.infoOrGo(option, data)
        case Option.STRUCTURED_REPLY:
          if (data.length !== 0) throw new InvalidOption('STRUCTURED_REPLY takes no data')
          this.structured = true
          this.reply(option, Rep.ACK)
          return undefined
        case Option.LIST_META_CONTEXT:
        case Option.SET_META_CONTEXT: this.metaContext(option, data); return undefined
        default:
          this.refuse(option, Rep.ERR_UNSUP, `option ${option} is not supported`)
          return undefined
      }
    } catch (err) {
      if (err instanceof InvalidOption) {
        if (option === Option.EXPORT_NAME) return this.refuseExportName(err.message)
        this.refuse(option, Rep.ERR_INVALID, err.message)
        return undefined
      }
      if (err instanceof HangUp || !channel.writer.open) throw err
      const type = exportReplyOf(err)
      if (option === Option.EXPORT_NAME) {
        if (type === undefined) this.log.error({ err }, 'nbd export open failed')
        return this.refuseExportName((err as Error).message)
      }
      if (type === undefined) this.log.error({ err, option }, 'nbd option failed')
      this.refuse(option, type ?? Rep.ERR_UNKNOWN, type === undefined ? 'internal error' : (err as Error).message)
      return undefined
    }
  }

  private refusal (option: number): { type: number, message: string } | undefined {
    if (this.c.shuttingDown()) return { type: Rep.ERR_SHUTDOWN, message: 'server shutting down' }
    if (!this.c.allowed) return { type: Rep.ERR_POLICY, message: 'client address not allowed' }
    if (this.c.tls !== undefined && !this.c.channel.tls && option !== Option.STARTTLS) return { type: Rep.ERR_TLS_REQD, message: 'TLS required' }
    return undefined
  }

  private async list (data: Buffer): Promise<void> {
    if (data.length !== 0) throw new InvalidOption('LIST takes no data')
    for (const entry of await this.c.exports.list()) this.reply(Option.LIST, Rep.SERVER, serverReply(entry.name, entry.description))
    this.reply(Option.LIST, Rep.ACK)
  }

  private async startTls (data: Buffer): Promise<void> {
    if (data.length !== 0) throw new InvalidOption('STARTTLS takes no data')
    const { channel, tls } = this.c
    if (tls === undefined) return this.refuse(Option.STARTTLS, Rep.ERR_POLICY, 'TLS is not configured')
    if (channel.tls) throw new InvalidOption('TLS is already on')
    try {
      const clean = await channel.startTls(tls, () => { this.reply(Option.STARTTLS, Rep.ACK) })
      if (!clean) this.violation('data sent before the STARTTLS reply')
    } catch (err) {
      if (err instanceof HangUp) throw err
      this.log.warn({ err }, 'nbd TLS handshake failed')
      throw new HangUp()
    }
    // Nothing negotiated in the clear carries over (spec, NBD_OPT_STARTTLS).
    this.structured = false
    this.metaExport = undefined
    this.log.info({ identity: channel.tlsIdentity, ...channel.tlsParameters }, 'nbd TLS established')
  }

  private metaContext (option: number, data: Buffer): void {
    const listing = option === Option.LIST_META_CONTEXT
    const request = parseMetaContextRequest(data)
    if (!listing) {
      // SET replaces the previous selection even when it fails.
      this.metaExport = undefined
      if (!this.structured) throw new InvalidOption('SET_META_CONTEXT needs STRUCTURED_REPLY first')
    }
    const contexts = matchContexts(request.queries, listing)
    for (const name of contexts) this.reply(option, Rep.META_CONTEXT, metaContextReply(listing ? 0 : ALLOCATION_CONTEXT_ID, name))
    if (!listing && contexts.includes(BASE_ALLOCATION)) this.metaExport = request.name
    this.reply(option, Rep.ACK)
  }

  private async infoOrGo (option: number, data: Buffer): Promise<Session | undefined> {
    const request = parseInfoRequest(data)
    const { exports, maxPayload } = this.c
    const described = option === Option.INFO || request.infos.includes(Info.NAME) || request.infos.includes(Info.DESCRIPTION)
      ? await exports.describe(request.name)
      : undefined
    const device = option === Option.GO ? await exports.open(request.name) : undefined
    const shape = device ?? described!
    const sizes = advertisedSizes(shape.blockSizes, maxPayload)
    const flags = transmissionFlags(shape.readOnly, this.structured)
    if (device !== undefined && (this.c.shuttingDown() || !this.c.channel.writer.open)) {
      await device.close()
      this.refuse(option, Rep.ERR_SHUTDOWN, 'server shutting down')
      return undefined
    }
    this.reply(option, Rep.INFO, infoExport(shape.size, flags))
    // Always sent: the minimum block size is not the default 1, and the spec lets a server volunteer it.
    this.reply(option, Rep.INFO, infoBlockSize(sizes))
    if (described !== undefined && request.infos.includes(Info.NAME)) this.reply(option, Rep.INFO, infoString(Info.NAME, described.name))
    if (described !== undefined && request.infos.includes(Info.DESCRIPTION) && described.description !== '') {
      this.reply(option, Rep.INFO, infoString(Info.DESCRIPTION, described.description))
    }
    this.reply(option, Rep.ACK)
    return device === undefined ? undefined : this.session(request.name, device, sizes, flags)
  }

  private async exportName (name: string): Promise<Session> {
    const device = await this.c.exports.open(name)
    if (this.c.shuttingDown()) {
      await device.close()
      return this.refuseExportName('server shutting down')
    }
    const sizes = advertisedSizes(device.blockSizes, this.c.maxPayload)
    const flags = transmissionFlags(device.readOnly, this.structured)
    const reply = Buffer.alloc(this.noZeroes ? 10 : 134)
    reply.writeBigUInt64BE(BigInt(device.size), 0)
    reply.writeUInt16BE(flags, 8)
    this.c.channel.writer.send([reply])
    return this.session(name, device, sizes, flags)
  }

  private session (exportName: string, device: BlockDevice, sizes: BlockSizes, flags: number): Session {
    return { exportName, device, structured: this.structured, blockStatus: this.structured && this.metaExport === exportName, sizes, flags }
  }
}
