import type { BlockSizes } from '../../storage/volume/block-device.ts'
import { BASE_ALLOCATION, Info, TxFlag } from './protocol.ts'

/** Strings (export names, queries) are at most 4096 bytes by the spec. */
const MAX_STRING = 4096

/** The option payload does not parse; the reply is NBD_REP_ERR_INVALID. */
export class InvalidOption extends Error {}

function text (data: Buffer, start: number, length: number): string {
  if (length > MAX_STRING) throw new InvalidOption(`string of ${length} bytes (at most ${MAX_STRING})`)
  const bytes = data.subarray(start, start + length)
  const value = bytes.toString('utf8')
  if (value.includes('\0') || !Buffer.from(value, 'utf8').equals(bytes)) throw new InvalidOption('string is not NUL-free UTF-8')
  return value
}

export function exportNameOf (data: Buffer): string {
  return text(data, 0, data.length)
}

export interface InfoRequest {
  name: string
  infos: number[]
}

/** NBD_OPT_INFO / NBD_OPT_GO: name length, name, count, info types. */
export function parseInfoRequest (data: Buffer): InfoRequest {
  if (data.length < 6) throw new InvalidOption('too short')
  const nameLength = data.readUInt32BE(0)
  if (nameLength > data.length - 6) throw new InvalidOption('name runs past the option')
  const name = text(data, 4, nameLength)
  const count = data.readUInt16BE(4 + nameLength)
  if (data.length !== 6 + nameLength + 2 * count) throw new InvalidOption('information request count does not match the length')
  const infos: number[] = []
  for (let i = 0; i < count; i++) infos.push(data.readUInt16BE(6 + nameLength + 2 * i))
  return { name, infos }
}

export interface MetaContextRequest {
  name: string
  queries: string[]
}

/** NBD_OPT_LIST_META_CONTEXT / NBD_OPT_SET_META_CONTEXT: name, count, queries. */
export function parseMetaContextRequest (data: Buffer): MetaContextRequest {
  if (data.length < 8) throw new InvalidOption('too short')
  const nameLength = data.readUInt32BE(0)
  if (nameLength > data.length - 8) throw new InvalidOption('name runs past the option')
  const name = text(data, 4, nameLength)
  const count = data.readUInt32BE(4 + nameLength)
  let at = 8 + nameLength
  const queries: string[] = []
  for (let i = 0; i < count; i++) {
    if (at + 4 > data.length) throw new InvalidOption('query runs past the option')
    const length = data.readUInt32BE(at)
    if (length > data.length - at - 4) throw new InvalidOption('query runs past the option')
    queries.push(text(data, at + 4, length))
    at += 4 + length
  }
  if (at !== data.length) throw new InvalidOption('trailing bytes after the queries')
  return { name, queries }
}

/**
 * The contexts a query list names. Only base:allocation exists; "base:" is
 * the wildcard LIST allows, and an empty list means "everything" for LIST
 * and "nothing" for SET. Unknown namespaces and leaves are ignored.
 */
export function matchContexts (queries: readonly string[], listing: boolean): string[] {
  if (queries.length === 0) return listing ? [BASE_ALLOCATION] : []
  const wanted = queries.some((q) => q === BASE_ALLOCATION || (listing && q === 'base:'))
  return wanted ? [BASE_ALLOCATION] : []
}

export function metaContextReply (id: number, name: string): Buffer {
  const out = Buffer.alloc(4 + Buffer.byteLength(name))
  out.writeUInt32BE(id, 0)
  out.write(name, 4)
  return out
}

export function serverReply (name: string, description: string): Buffer {
  const nameBytes = Buffer.from(name, 'utf8')
  const out = Buffer.alloc(4 + nameBytes.length)
  out.writeUInt32BE(nameBytes.length, 0)
  nameBytes.copy(out, 4)
  return Buffer.concat([out, Buffer.from(description, 'utf8')])
}

export function infoExport (size: number, flags: number): Buffer {
  const out = Buffer.alloc(12)
  out.writeUInt16BE(Info.EXPORT, 0)
  out.writeBigUInt64BE(BigInt(size), 2)
  out.writeUInt16BE(flags, 10)
  return out
}

export function infoString (type: number, value: string): Buffer {
  const out = Buffer.alloc(2 + Buffer.byteLength(value))
  out.writeUInt16BE(type, 0)
  out.write(value, 2)
  return out
}

export function infoBlockSize (sizes: BlockSizes): Buffer {
  const out = Buffer.alloc(14)
  out.writeUInt16BE(Info.BLOCK_SIZE, 0)
  out.writeUInt32BE(sizes.minimum, 2)
  out.writeUInt32BE(sizes.preferred, 6)
  out.writeUInt32BE(sizes.maximum, 10)
  return out
}

/** The export's size constraints with the server's payload cap applied. */
export function advertisedSizes (sizes: BlockSizes, maxPayload: number): BlockSizes {
  return { minimum: sizes.minimum, preferred: sizes.preferred, maximum: Math.max(sizes.preferred, Math.min(sizes.maximum, maxPayload)) }
}

/**
 * What the server supports for this export. Writes are not offered on
 * read-only exports; multi-conn only there too, because a volume has a
 * single writer (its lease) so a second writable connection could not even
 * open it, let alone share a cache with the first.
 */
export function transmissionFlags (readOnly: boolean, structured: boolean): number {
  let flags = TxFlag.HAS_FLAGS | TxFlag.SEND_FLUSH | TxFlag.SEND_CACHE
  if (structured) flags |= TxFlag.SEND_DF
  if (readOnly) return flags | TxFlag.READ_ONLY | TxFlag.CAN_MULTI_CONN
  return flags | TxFlag.SEND_FUA | TxFlag.SEND_TRIM | TxFlag.SEND_WRITE_ZEROES | TxFlag.SEND_FAST_ZERO
}
