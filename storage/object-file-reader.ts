import { open, type FileHandle } from 'node:fs/promises'
import { StorageError } from './errors.ts'
import { decodeFooter, decodeTrailer, FOOTER_BYTES, type Footer, type Hasher, type ObjectMeta } from './object-file-format.ts'

/** One read at open() that covers the whole of most small files. */
const TAIL_READ_BYTES = 64 * 1024

/**
 * An open replica file whose trailer has been checked. Body bytes are only
 * handed out block-verified; a mismatch throws Corrupt before any byte of the
 * bad block is returned.
 */
export class ObjectFileReader {
  readonly meta: ObjectMeta
  private readonly file: FileHandle
  private readonly path: string
  private readonly footer: Footer
  private readonly blockSums: Buffer
  private readonly hasher: Hasher
  /** The whole body when open() already read it with the trailer. */
  private readonly body: Buffer | undefined

  private constructor (path: string, file: FileHandle, footer: Footer, blockSums: Buffer, meta: ObjectMeta,
    hasher: Hasher, body: Buffer | undefined) {
    this.path = path
    this.file = file
    this.footer = footer
    this.blockSums = blockSums
    this.meta = meta
    this.hasher = hasher
    this.body = body
  }

  /** Opens and checks the trailer; throws ENOENT as is, Corrupt on a bad trailer. */
  static async open (path: string, hasher: Hasher): Promise<ObjectFileReader> {
    const file = await open(path, 'r')
    try {
      const { size: fileSize } = await file.stat()
      if (fileSize < FOOTER_BYTES) throw new StorageError('Corrupt', `${path}: shorter than a footer`)
      const tailLength = Math.min(fileSize, TAIL_READ_BYTES)
      const tail = await readExactly(file, tailLength, fileSize - tailLength)
      const footer = decodeFooter(tail.subarray(tailLength - FOOTER_BYTES), fileSize, path)
      const trailerEnd = fileSize - FOOTER_BYTES
      const trailerStart = trailerEnd - footer.trailerLength
      const tailStart = fileSize - tailLength
      const trailer = trailerStart >= tailStart
        ? tail.subarray(trailerStart - tailStart, trailerEnd - tailStart)
        : await readExactly(file, footer.trailerLength, trailerStart)
      const { blockSums, meta } = decodeTrailer(trailer, footer, hasher, path)
      const body = tailStart === 0 ? tail.subarray(0, footer.size) : undefined
      return new ObjectFileReader(path, file, footer, blockSums, meta, hasher, body)
    } catch (err) {
      await file.close()
      throw err
    }
  }

  /**
   * Verified bytes of [start, end) in pieces of at most `maxPiece` bytes.
   * Reads whole blocks (the unit checksummed) and trims them to the range.
   */
  async * read (start: number, end: number, maxPiece: number): AsyncGenerator<Buffer> {
    const { blockSize, size } = this.footer
    const stop = Math.min(end, size)
    const step = Math.max(blockSize, Math.floor(maxPiece / blockSize) * blockSize)
    let at = Math.floor(start / blockSize) * blockSize
    while (at < stop) {
      const readEnd = Math.min(at + step, Math.ceil(stop / blockSize) * blockSize, size)
      const blocks = this.body?.subarray(at, readEnd) ?? await readExactly(this.file, readEnd - at, at)
      this.verify(blocks, at / blockSize)
      const piece = blocks.subarray(Math.max(start - at, 0), Math.min(stop, readEnd) - at)
      // Only a block size above maxPiece (a file from another writer) needs splitting.
      for (let i = 0; i < piece.length; i += maxPiece) yield piece.subarray(i, i + maxPiece)
      at = readEnd
    }
  }

  async close (): Promise<void> {
    await this.file.close()
  }

  private verify (blocks: Buffer, firstBlock: number): void {
    const { blockSize } = this.footer
    for (let i = 0, at = 0; at < blocks.length; i++, at += blockSize) {
      const index = firstBlock + i
      if (this.hasher.h64Raw(blocks.subarray(at, at + blockSize)) !== this.blockSums.readBigUInt64BE(index * 8)) {
        throw new StorageError('Corrupt', `${this.path}: block ${index} failed its checksum`)
      }
    }
  }
}

async function readExactly (file: FileHandle, length: number, position: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length)
  for (let at = 0; at < length;) {
    const { bytesRead } = await file.read(buffer, at, length - at, position + at)
    if (bytesRead === 0) throw new StorageError('Corrupt', 'file shorter than its footer says')
    at += bytesRead
  }
  return buffer
}
