import { constants } from 'node:fs'
import { open, rm, type FileHandle } from 'node:fs/promises'
import { BLOCK_SIZE, encodeTail, hex64, type Hasher, type ObjectMeta } from './object-file-format.ts'

const O_DSYNC_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DSYNC

/** Bodies up to this size are written with one writev at finish(). */
const SPILL_BYTES = 1024 * 1024

/**
 * A large body is flushed to disk in the background every this many bytes,
 * so the disk works while the body still streams in instead of taking all
 * of it at the final fdatasync (the kernel alone would wait for gigabytes of
 * dirty pages first).
 */
const FLUSH_EVERY_BYTES = 8 * 1024 * 1024

/**
 * Builds one replica file in the device's tmp directory while the body
 * streams in, hashing as it goes. Small bodies stay in memory so the whole
 * file costs one open, one write and one fdatasync; larger ones spill to the
 * temp file chunk by chunk and are never held whole.
 */
export class ObjectFileWriter {
  readonly path: string
  private readonly hasher: Hasher
  private readonly whole: ReturnType<Hasher['create64']>
  private readonly blockSums: bigint[] = []
  /** The unfinished last block, hashed once it fills up or the body ends. */
  private readonly partial = Buffer.allocUnsafe(BLOCK_SIZE)
  private partialLength = 0
  private buffered: Buffer[] = []
  private file: FileHandle | undefined
  private written = 0
  private bytes = 0
  private flushedAt = 0
  private flushing: Promise<void> | undefined
  private appending: Promise<void> = Promise.resolve()

  /** `path` is the temp file to create, in the device's tmp directory. */
  constructor (path: string, hasher: Hasher) {
    this.path = path
    this.hasher = hasher
    this.whole = hasher.create64()
  }

  get size (): number {
    return this.bytes
  }

  /**
   * Takes the next body chunk. Resolves once the chunk before it is in the
   * file, so receiving the next chunk overlaps writing this one.
   */
  async write (chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return
    this.hash(chunk)
    this.bytes += chunk.length
    if (this.file === undefined && this.bytes <= SPILL_BYTES) {
      this.buffered.push(chunk)
      return
    }
    await this.appending
    this.file ??= await open(this.path, 'wx')
    const pending = this.buffered
    this.buffered = []
    pending.push(chunk)
    this.appending = this.append(pending)
    // Observed by the next write(), finish() or discard().
    this.appending.catch(() => {})
    if (this.flushing === undefined && this.written - this.flushedAt >= FLUSH_EVERY_BYTES) {
      this.flushedAt = this.written
      // Only an early start of the final fdatasync, which reports any failure.
      const flushing: Promise<void> = this.file.datasync().catch(() => {}).finally(() => {
        if (this.flushing === flushing) this.flushing = undefined
      })
      this.flushing = flushing
    }
  }

  /**
   * Completes the file and makes it durable; the caller renames it into
   * place. `meta.size` and `meta.checksum` are filled in from the body seen.
   */
  async finish (meta: Omit<ObjectMeta, 'size' | 'checksum'>): Promise<ObjectMeta> {
    if (this.partialLength > 0) {
      this.blockSums.push(this.hasher.h64Raw(this.partial.subarray(0, this.partialLength)))
      this.partialLength = 0
    }
    const full: ObjectMeta = { ...meta, size: this.bytes, checksum: meta.deleted ? '' : hex64(this.whole.digest()) }
    await this.appending
    const parts = this.buffered
    this.buffered = []
    parts.push(encodeTail(full, this.blockSums, this.hasher))
    if (this.file === undefined) {
      // The whole file in one write: O_DSYNC makes that write the fdatasync too.
      this.file = await open(this.path, O_DSYNC_NEW)
      await this.append(parts)
    } else {
      await this.append(parts)
      await this.flushing
      await this.file.datasync()
    }
    await this.file.close()
    this.file = undefined
    return full
  }

  /** Drops the temp file; safe to call at any point, also after finish(). */
  async discard (): Promise<void> {
    this.buffered = []
    await this.appending.catch(() => {})
    await this.flushing
    const file = this.file
    this.file = undefined
    await file?.close().catch(() => {})
    await rm(this.path, { force: true })
  }

  private hash (chunk: Buffer): void {
    this.whole.update(chunk)
    let at = 0
    if (this.partialLength > 0) {
      at = Math.min(BLOCK_SIZE - this.partialLength, chunk.length)
      chunk.copy(this.partial, this.partialLength, 0, at)
      this.partialLength += at
      if (this.partialLength < BLOCK_SIZE) return
      this.blockSums.push(this.hasher.h64Raw(this.partial))
      this.partialLength = 0
    }
    for (; at + BLOCK_SIZE <= chunk.length; at += BLOCK_SIZE) {
      this.blockSums.push(this.hasher.h64Raw(chunk.subarray(at, at + BLOCK_SIZE)))
    }
    if (at < chunk.length) {
      chunk.copy(this.partial, 0, at)
      this.partialLength = chunk.length - at
    }
  }

  private async append (parts: Buffer[]): Promise<void> {
    const file = this.file
    if (file === undefined) throw new Error('append before open')
    let length = 0
    for (const part of parts) length += part.length
    const { bytesWritten } = await file.writev(parts, this.written)
    // writev may stop short (rare, large writes); finish the rest plainly.
    if (bytesWritten < length) {
      const rest = Buffer.concat(parts).subarray(bytesWritten)
      for (let at = 0; at < rest.length;) {
        const { bytesWritten: n } = await file.write(rest, at, rest.length - at, this.written + bytesWritten + at)
        at += n
      }
    }
    this.written += length
  }
}
