import type { Logger } from '../../lib/logger.ts'
import type { BlockDevice, BlockExtent } from '../../storage/volume/block-device.ts'
import { errnoOf } from './errno.ts'
import { ALLOCATION_CONTEXT_ID, type Session } from './handshake.ts'
import type { NbdMetrics } from './nbd-metrics.ts'
import { Cmd, CmdFlag, Errno, STATE_HOLE, STATE_ZERO, type Command } from './protocol.ts'
import { chunks, simpleReply } from './replies.ts'

/** Spec: servers SHOULD NOT send more than 2^20 block status descriptors. */
const MAX_DESCRIPTORS = 1 << 20

export interface Request {
  command: Command
  flags: number
  cookie: Buffer
  offset: number
  length: number
  /** WRITE only. */
  payload: Buffer | undefined
}

/** A run of a read: bytes to send, or zeroes to describe as a hole. */
interface Run {
  offset: number
  length: number
  zero: boolean
}

/**
 * Carries out validated requests on the device and builds their replies
 * (simple, or structured chunks when negotiated). Never throws: a failure
 * becomes an error reply.
 */
export class Commands {
  private readonly session: Session
  private readonly metrics: NbdMetrics
  private readonly log: Logger

  constructor (session: Session, metrics: NbdMetrics, log: Logger) {
    this.session = session
    this.metrics = metrics
    this.log = log
  }

  private get device (): BlockDevice {
    return this.session.device
  }

  async execute (request: Request): Promise<Buffer[]> {
    try {
      return await this.run(request)
    } catch (err) {
      let errno = errnoOf(err, request.command)
      if (errno === undefined) {
        this.log.error({ err, command: request.command, offset: request.offset, length: request.length }, 'nbd request failed')
        errno = Errno.EIO
      }
      return this.failure(request.cookie, errno, (err as Error).message ?? 'failed')
    }
  }

  /** An error reply: structured (with the message) when negotiated, which READ then requires. */
  failure (cookie: Buffer, errno: number, message: string): Buffer[] {
    this.metrics.error(errno)
    return this.session.structured ? chunks.error(cookie, true, errno, message) : simpleReply(cookie, errno)
  }

  /** Structured replies may still answer payload-less commands with a simple reply; it is the shortest. */
  private success (request: Request): Buffer[] {
    return simpleReply(request.cookie, 0)
  }

  private async run (request: Request): Promise<Buffer[]> {
    const { offset, length, flags } = request
    const fua = (flags & CmdFlag.FUA) !== 0
    switch (request.command) {
      case Cmd.READ: return await this.read(request)
      case Cmd.WRITE:
        if (length > 0) await this.device.write(offset, request.payload!, { fua })
        this.metrics.written(length)
        return this.success(request)
      case Cmd.FLUSH:
        await this.device.flush()
        return this.success(request)
      case Cmd.TRIM:
        if (length > 0) await this.device.trim(offset, length, { fua })
        return this.success(request)
      case Cmd.CACHE:
        if (length > 0) await this.device.cache(offset, length)
        return this.success(request)
      case Cmd.WRITE_ZEROES:
        if (length > 0) {
          await this.device.writeZeroes(offset, length, {
            fua,
            mayTrim: (flags & CmdFlag.NO_HOLE) === 0,
            fastOnly: (flags & CmdFlag.FAST_ZERO) !== 0
          })
        }
        return this.success(request)
      case Cmd.BLOCK_STATUS: return await this.blockStatus(request)
      case Cmd.DISC: throw new Error('DISC is not executed')
    }
  }

  private async read (request: Request): Promise<Buffer[]> {
    const { cookie, offset, length } = request
    if (!this.session.structured) {
      const data = length === 0 ? Buffer.alloc(0) : await this.readExactly(offset, length)
      this.metrics.read(length)
      return simpleReply(cookie, 0, data)
    }
    if (length === 0) return chunks.none(cookie)
    // Don't fragment: one data chunk, holes included as zeroes.
    const runs = (request.flags & CmdFlag.DF) !== 0
      ? [{ offset, length, zero: false }]
      : readRuns(offset, length, await this.device.extents(offset, length))
    const results = await Promise.allSettled(runs.map(async (run) => run.zero ? undefined : await this.readExactly(run.offset, run.length)))
    const message: Buffer[][] = []
    let failed = false
    runs.forEach((run, i) => {
      const last = i === runs.length - 1
      const result = results[i]!
      if (result.status === 'rejected') {
        failed = true
        const errno = errnoOf(result.reason, Cmd.READ)
        if (errno === undefined) this.log.error({ err: result.reason, offset: run.offset, length: run.length }, 'nbd read failed')
        this.metrics.error(errno ?? Errno.EIO)
        message.push(chunks.errorAt(cookie, last, errno ?? Errno.EIO, (result.reason as Error).message ?? 'read failed', run.offset))
      } else if (result.value === undefined) {
        message.push(chunks.hole(cookie, last, run.offset, run.length))
      } else {
        message.push(chunks.data(cookie, last, run.offset, result.value))
      }
    })
    if (!failed) this.metrics.read(length)
    return message.flat()
  }

  private async readExactly (offset: number, length: number): Promise<Buffer> {
    const data = await this.device.read(offset, length)
    if (data.length !== length) throw new Error(`device returned ${data.length} bytes for a read of ${length}`)
    return data
  }

  private async blockStatus (request: Request): Promise<Buffer[]> {
    const { cookie, offset, length } = request
    const extents = await this.device.extents(offset, length)
    const descriptors: Array<[number, number]> = []
    let at = offset
    const end = offset + length
    for (const extent of extents) {
      if (at >= end || descriptors.length === MAX_DESCRIPTORS) break
      const size = Math.min(extent.length, end - at)
      if (size <= 0) continue
      const state = (extent.hole ? STATE_HOLE : 0) | (extent.zero ? STATE_ZERO : 0)
      const previous = descriptors[descriptors.length - 1]
      if (previous !== undefined && previous[1] === state) previous[0] += size
      else descriptors.push([size, state])
      at += size
    }
    if (descriptors.length === 0) throw new Error('device returned no extents')
    const reply = (request.flags & CmdFlag.REQ_ONE) !== 0 ? descriptors.slice(0, 1) : descriptors
    return chunks.blockStatus(cookie, true, ALLOCATION_CONTEXT_ID, reply)
  }
}

/**
 * Splits a read into data runs and zero runs from the allocation map.
 * Extents known to read as zeroes become OFFSET_HOLE chunks; whatever the
 * map leaves uncovered is read.
 */
function readRuns (offset: number, length: number, extents: readonly BlockExtent[]): Run[] {
  const runs: Run[] = []
  const end = offset + length
  let at = offset
  const add = (size: number, zero: boolean): void => {
    const previous = runs[runs.length - 1]
    if (previous !== undefined && previous.zero === zero) previous.length += size
    else runs.push({ offset: at, length: size, zero })
    at += size
  }
  for (const extent of extents) {
    if (at >= end) break
    const size = Math.min(extent.length, end - at)
    if (size > 0) add(size, extent.zero)
  }
  if (at < end) add(end - at, false)
  return runs
}
