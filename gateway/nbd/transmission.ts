import type { Logger } from '../../lib/logger.ts'
import type { Channel } from './channel.ts'
import { Commands, type Request } from './commands.ts'
import { blockErrno } from './errno.ts'
import type { Session } from './handshake.ts'
import type { NbdMetrics } from './nbd-metrics.ts'
import { Cmd, CMD_NAMES, CmdFlag, Errno, isCommand, REQUEST_HEADER_LENGTH, REQUEST_MAGIC, TxFlag, type Command } from './protocol.ts'
import { EndOfStream } from '../../lib/socket-reader.ts'

/**
 * The request loop reads no further while this many requests, or this many
 * payload bytes (write data held, read data to come), are in flight: a
 * client pipelining faster than the device keeps up is held back by TCP
 * instead of by server memory. nbdcopy and qemu keep at most 64 requests
 * in flight per connection.
 */
const MAX_REQUESTS_IN_FLIGHT = 128
const MAX_BYTES_IN_FLIGHT = 64 * 1024 * 1024
/**
 * A write larger than the advertised maximum is refused with EINVAL after
 * its payload is read and dropped (the stream must stay in sync), up to
 * this size; beyond it the connection is closed, as the spec allows for
 * payloads large enough to be a denial of service.
 */
const MAX_DISCARDED_PAYLOAD = 64 * 1024 * 1024

const FUA_ONLY = CmdFlag.FUA
/** Flags each command accepts; FUA is accepted everywhere, as the spec requires once SEND_FUA is advertised. */
const ALLOWED_FLAGS: Record<Command, number> = {
  [Cmd.READ]: FUA_ONLY | CmdFlag.DF,
  [Cmd.WRITE]: FUA_ONLY,
  [Cmd.DISC]: FUA_ONLY,
  [Cmd.FLUSH]: FUA_ONLY,
  [Cmd.TRIM]: FUA_ONLY,
  [Cmd.CACHE]: FUA_ONLY,
  [Cmd.WRITE_ZEROES]: FUA_ONLY | CmdFlag.NO_HOLE | CmdFlag.FAST_ZERO,
  [Cmd.BLOCK_STATUS]: FUA_ONLY | CmdFlag.REQ_ONE
}

/** How the loop ended: the client left (DISC, EOF), or the server closed it (shutdown, protocol violation). */
export type TransmissionEnd = 'disconnect' | 'eof' | 'shutdown' | 'violation'

/**
 * The transmission phase of one connection: reads requests in order,
 * runs them concurrently on the device, replies as each completes (so out
 * of order, matched by cookie).
 */
export class Transmission {
  /** Requests read, for the connection's closing log line. */
  requests = 0
  private readonly channel: Channel
  private readonly session: Session
  private readonly commands: Commands
  private readonly metrics: NbdMetrics
  private readonly log: Logger
  private inFlight = 0
  private bytesInFlight = 0
  private wake: (() => void) | undefined
  private shuttingDown = false

  constructor (channel: Channel, session: Session, metrics: NbdMetrics, log: Logger) {
    this.channel = channel
    this.session = session
    this.metrics = metrics
    this.log = log
    this.commands = new Commands(session, metrics, log)
  }

  /**
   * Server stop: requests read from now on are answered ESHUTDOWN, those in
   * flight finish, then reading stops and run() returns.
   */
  shutdown (): void {
    this.shuttingDown = true
    if (this.inFlight === 0) this.channel.reader.detach()
  }

  /** Resolves once the loop has ended and every request in flight has been answered (or dropped with the socket). */
  async run (): Promise<TransmissionEnd> {
    let end: TransmissionEnd
    try {
      end = await this.loop()
    } catch (err) {
      if (!(err instanceof EndOfStream)) throw err
      end = this.shuttingDown ? 'shutdown' : 'eof'
    }
    if (end === 'violation') this.channel.destroy()
    while (this.inFlight > 0) await this.woken()
    return end
  }

  private async loop (): Promise<TransmissionEnd> {
    const { reader, writer } = this.channel
    for (;;) {
      while (this.inFlight >= MAX_REQUESTS_IN_FLIGHT || this.bytesInFlight >= MAX_BYTES_IN_FLIGHT) await this.woken()
      await writer.ready()
      const header = await reader.read(REQUEST_HEADER_LENGTH)
      if (header.readUInt32BE(0) !== REQUEST_MAGIC) return this.violation('bad request magic', { magic: header.readUInt32BE(0) })
      const type = header.readUInt16BE(6)
      const flags = header.readUInt16BE(4)
      const cookie = Buffer.from(header.subarray(8, 16))
      // Past 2^53 precision goes, but such an offset is past any export's end anyway.
      const offset = Number(header.readBigUInt64BE(16))
      const length = header.readUInt32BE(24)
      let payload: Buffer | undefined
      if (type === Cmd.WRITE) {
        if (length > this.session.sizes.maximum) {
          if (length > MAX_DISCARDED_PAYLOAD) return this.violation('write payload too large', { length })
          await reader.skip(length)
          this.reply(this.commands.failure(cookie, Errno.EINVAL, `write larger than the maximum payload ${this.session.sizes.maximum}`))
          continue
        }
        payload = await reader.read(length)
      }
      if (type === Cmd.DISC) return 'disconnect'
      this.requests++
      if (!isCommand(type)) {
        this.reply(this.commands.failure(cookie, Errno.EINVAL, `unknown command ${type}`))
        continue
      }
      const request: Request = { command: type, flags, cookie, offset, length, payload }
      this.metrics.request(type)
      if (this.shuttingDown) {
        this.reply(this.commands.failure(cookie, Errno.ESHUTDOWN, 'server shutting down'))
        continue
      }
      const refused = this.check(request)
      if (refused !== undefined) {
        this.reply(this.commands.failure(cookie, refused[0], refused[1]))
        continue
      }
      this.dispatch(request)
    }
  }

  private violation (message: string, details: Record<string, unknown>): TransmissionEnd {
    this.log.warn(details, `nbd protocol violation: ${message}`)
    return 'violation'
  }

  /** Why the request cannot run, as [errno, message], or undefined when it can. */
  private check (request: Request): [number, string] | undefined {
    const { command, flags, offset, length } = request
    const { device, sizes, structured } = this.session
    const name = CMD_NAMES[command]
    let allowed = ALLOWED_FLAGS[command]
    if (!structured || (this.session.flags & TxFlag.SEND_DF) === 0) allowed &= ~CmdFlag.DF
    if ((flags & ~allowed) !== 0) return [Errno.EINVAL, `flags 0x${flags.toString(16)} not valid for ${name}`]
    const writes = command === Cmd.WRITE || command === Cmd.TRIM || command === Cmd.WRITE_ZEROES
    if (writes && device.readOnly) return [blockErrno('ReadOnly', command), 'read-only export']
    if (command === Cmd.FLUSH) return offset === 0 && length === 0 ? undefined : [Errno.EINVAL, 'flush offset and length must be zero']
    if (command === Cmd.READ && length > sizes.maximum) {
      // With structured replies a read may be split or refused as too large (EOVERFLOW); a simple reply has no such error.
      return [structured ? Errno.EOVERFLOW : Errno.EINVAL, `read larger than the maximum payload ${sizes.maximum}`]
    }
    if (offset + length > device.size) return [blockErrno('OutOfRange', command), `${name} past the end of the export (${device.size} bytes)`]
    const minimum = sizes.minimum
    // The last block of an export whose size is not a multiple of the minimum can only be reached with a short length.
    if (offset % minimum !== 0 || (length % minimum !== 0 && offset + length !== device.size)) {
      return [blockErrno('InvalidArgument', command), `${name} not aligned to the minimum block size ${minimum}`]
    }
    if (command === Cmd.BLOCK_STATUS) {
      if (!this.session.blockStatus) return [Errno.EINVAL, 'no metadata context selected']
      if (length === 0) return [Errno.EINVAL, 'block status of zero bytes']
    }
    return undefined
  }

  private dispatch (request: Request): void {
    const bytes = request.command === Cmd.READ || request.command === Cmd.WRITE ? request.length : 0
    this.inFlight++
    this.bytesInFlight += bytes
    void this.commands.execute(request).then((reply) => {
      this.reply(reply)
    }, (err: unknown) => {
      this.log.error({ err }, 'nbd request failed unexpectedly')
    }).finally(() => {
      this.inFlight--
      this.bytesInFlight -= bytes
      if (this.shuttingDown && this.inFlight === 0) this.channel.reader.detach()
      this.wakeUp()
    })
  }

  private reply (message: Buffer[]): void {
    this.channel.writer.send(message)
  }

  private async woken (): Promise<void> {
    await new Promise<void>((resolve) => { this.wake = resolve })
  }

  private wakeUp (): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }
}
