import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { LayerWriter } from '../../storage/volume/index.ts'
import { detectFormat, HEADER_BYTES } from './disk-format.ts'
import { ImageError } from './errors.ts'
import { ImageDigest } from './image-digest.ts'
import { convertToRaw, inspectQcow2 } from './qemu-img.ts'
import type { DiskFormat } from './records.ts'

export interface ImportOptions {
  declared: DiskFormat
  /** Where a qcow2 upload is spooled and converted (it needs a seekable file). */
  spoolDir: string
  /** Bytes an image (raw, or a qcow2's virtual size) may have at most. */
  maxSize: number
  /** `phase` (receiving, converting, storing) and bytes done so far in it. */
  progress: (phase: string, bytes: number) => void
}

export interface ImportedData {
  /** Bytes of the raw data now in the layer. */
  size: number
  checksum: string
  os_hash_algo: 'sha512'
  os_hash_value: string
  /** The uploaded format when it was converted to raw. */
  convertedFrom?: DiskFormat
}

const READ_PIECE = 1024 * 1024

/**
 * Streams an upload into a fresh layer and seals it. The declared format
 * must be what the bytes' magic says. Raw data goes straight into the
 * layer; a qcow2 is spooled to a temp file, inspected, converted to raw
 * with qemu-img, and the raw file streamed into the layer, so clones of the
 * image stay O(1). Checksums describe the raw data the image serves.
 */
export async function importImageData (source: AsyncIterable<Buffer>, writer: LayerWriter, options: ImportOptions): Promise<ImportedData> {
  const { head, rest } = await readHead(source[Symbol.asyncIterator]())
  const found = detectFormat(head)
  if (found !== options.declared) throw new ImageError('BadData', `disk_format is ${options.declared} but the data is ${found}`)
  if (options.declared === 'raw') return await store(withHead(head, rest), writer, options, 'receiving')
  const dir = await mkdtemp(join(options.spoolDir, 'ringstack-image-'))
  try {
    const qcow2 = join(dir, 'upload.qcow2')
    const raw = join(dir, 'image.raw')
    await pipeline(counted(withHead(head, rest), options, 'receiving'), createWriteStream(qcow2))
    const { virtualSize } = await inspectQcow2(qcow2, options.maxSize)
    await convertToRaw(qcow2, raw, (percent) => { options.progress('converting', Math.round(virtualSize * percent / 100)) })
    await rm(qcow2)
    return { ...await store(createReadStream(raw, { highWaterMark: READ_PIECE }), writer, options, 'storing'), convertedFrom: 'qcow2' }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Hashes and writes raw data into the layer, then seals it. */
async function store (data: AsyncIterable<Buffer>, writer: LayerWriter, options: ImportOptions, phase: string): Promise<ImportedData> {
  const digest = new ImageDigest()
  for await (const piece of counted(data, options, phase)) {
    digest.update(piece)
    await writer.write(piece)
  }
  if (writer.bytes === 0) throw new ImageError('BadData', 'the image data is empty')
  await writer.seal()
  return { size: writer.bytes, ...digest.digest() }
}

/** Passes pieces through, reporting progress and refusing more than maxSize bytes. */
async function * counted (data: AsyncIterable<Buffer>, options: ImportOptions, phase: string): AsyncGenerator<Buffer> {
  let bytes = 0
  options.progress(phase, 0)
  for await (const piece of data) {
    bytes += piece.length
    if (bytes > options.maxSize) throw new ImageError('TooLarge', `image data over ${options.maxSize} bytes`)
    options.progress(phase, bytes)
    yield piece
  }
}

/** The first HEADER_BYTES (fewer if the data is shorter), and the iterator positioned after what was read. */
async function readHead (it: AsyncIterator<Buffer>): Promise<{ head: Buffer, rest: AsyncIterator<Buffer> }> {
  const parts: Buffer[] = []
  let length = 0
  while (length < HEADER_BYTES) {
    const next = await it.next()
    if (next.done === true) break
    parts.push(next.value)
    length += next.value.length
  }
  return { head: Buffer.concat(parts), rest: it }
}

async function * withHead (head: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  if (head.length > 0) yield head
  for (let next = await rest.next(); next.done !== true; next = await rest.next()) yield next.value
}
