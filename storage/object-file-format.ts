/**
 * On-disk layout of one replica (data file or tombstone), self-describing so
 * that a file alone is enough to rebuild the index or restore a replica:
 *
 *   body                     `size` bytes
 *   block checksums          ceil(size / blockSize) x xxh64, big-endian u64
 *   meta                     UTF-8 JSON (ObjectMeta, timestamp as decimal)
 *   footer (32 bytes)        u64 size | u32 blockSize | u32 trailerLength |
 *                            u64 xxh64(trailer) | "RSOBJv1\n"
 *
 * trailer = block checksums + meta. Files are named
 * `<md5(name)>-<timestamp, 16 hex>.data` (or `.ts` for a tombstone).
 */
import type { XXHashAPI } from 'xxhash-wasm'
import { StorageError } from './errors.ts'

export type Hasher = XXHashAPI

export const BLOCK_SIZE = 64 * 1024
export const FOOTER_BYTES = 32
const MAGIC = Buffer.from('RSOBJv1\n', 'latin1')
const MAX_BLOCK_SIZE = 16 * 1024 * 1024

export interface ObjectMeta {
  /** `/account/container/object` */
  name: string
  timestamp: bigint
  size: number
  /** xxh64 of the whole body, 16 hex digits; '' for tombstones. */
  checksum: string
  deleted: boolean
  metadata: Record<string, string>
}

export interface Footer {
  size: number
  blockSize: number
  trailerLength: number
  trailerChecksum: bigint
}

export function hex64 (value: bigint): string {
  return value.toString(16).padStart(16, '0')
}

export function blockCount (size: number, blockSize: number): number {
  return Math.ceil(size / blockSize)
}

/** Trailer and footer for a body whose block checksums are already known. */
export function encodeTail (meta: ObjectMeta, blockSums: readonly bigint[], hasher: Hasher): Buffer {
  const json = Buffer.from(JSON.stringify({ ...meta, timestamp: meta.timestamp.toString() }))
  const trailerLength = blockSums.length * 8 + json.length
  const tail = Buffer.allocUnsafe(trailerLength + FOOTER_BYTES)
  blockSums.forEach((sum, i) => tail.writeBigUInt64BE(sum, i * 8))
  json.copy(tail, blockSums.length * 8)
  const footer = trailerLength
  tail.writeBigUInt64BE(BigInt(meta.size), footer)
  tail.writeUInt32BE(BLOCK_SIZE, footer + 8)
  tail.writeUInt32BE(trailerLength, footer + 12)
  tail.writeBigUInt64BE(hasher.h64Raw(tail.subarray(0, trailerLength)), footer + 16)
  MAGIC.copy(tail, footer + 24)
  return tail
}

export function decodeFooter (footer: Buffer, fileSize: number, file: string): Footer {
  if (footer.length !== FOOTER_BYTES || !footer.subarray(24).equals(MAGIC)) {
    throw new StorageError('Corrupt', `${file}: bad footer magic`)
  }
  const size = Number(footer.readBigUInt64BE(0))
  const blockSize = footer.readUInt32BE(8)
  const trailerLength = footer.readUInt32BE(12)
  if (blockSize === 0 || blockSize > MAX_BLOCK_SIZE || size + trailerLength + FOOTER_BYTES !== fileSize ||
      trailerLength < blockCount(size, blockSize) * 8) {
    throw new StorageError('Corrupt', `${file}: footer does not match the file`)
  }
  return { size, blockSize, trailerLength, trailerChecksum: footer.readBigUInt64BE(16) }
}

/** Checks the trailer against the footer and returns the block checksums and meta. */
export function decodeTrailer (trailer: Buffer, footer: Footer, hasher: Hasher, file: string):
{ blockSums: Buffer, meta: ObjectMeta } {
  if (hasher.h64Raw(trailer) !== footer.trailerChecksum) {
    throw new StorageError('Corrupt', `${file}: trailer checksum mismatch`)
  }
  const sumsLength = blockCount(footer.size, footer.blockSize) * 8
  let meta: ObjectMeta
  try {
    const raw = JSON.parse(trailer.subarray(sumsLength).toString('utf8')) as Omit<ObjectMeta, 'timestamp'> & { timestamp: string }
    meta = { ...raw, timestamp: BigInt(raw.timestamp) }
  } catch {
    throw new StorageError('Corrupt', `${file}: unreadable meta`)
  }
  if (meta.size !== footer.size) throw new StorageError('Corrupt', `${file}: meta size does not match the footer`)
  return { blockSums: trailer.subarray(0, sumsLength), meta }
}

export interface FileName {
  hash: string
  timestamp: bigint
  deleted: boolean
}

const FILE_NAME = /^([0-9a-f]{32})-([0-9a-f]{16})\.(data|ts)$/

export function fileName (hash: string, timestamp: bigint, deleted: boolean): string {
  return `${hash}-${hex64(timestamp)}.${deleted ? 'ts' : 'data'}`
}

export function parseFileName (name: string): FileName | undefined {
  const match = FILE_NAME.exec(name)
  if (match === null) return undefined
  return { hash: match[1] ?? '', timestamp: BigInt(`0x${match[2] ?? '0'}`), deleted: match[3] === 'ts' }
}
