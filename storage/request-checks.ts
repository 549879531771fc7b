import { StorageError } from './errors.ts'

/** Header plus trailer metadata, as stored JSON; keeps every replica file small to parse. */
export const MAX_METADATA_BYTES = 64 * 1024

function invalid (message: string): StorageError {
  return new StorageError('InvalidArgument', message)
}

/** A write's HLC stamp: 0 is what an unset field decodes to, so it is refused. */
export function writeTimestamp (value: string): bigint {
  const timestamp = BigInt(value)
  if (timestamp <= 0n) throw invalid('timestamp must be positive')
  return timestamp
}

/** Declared body size: -1 for unknown, otherwise the exact length. */
export function declaredSize (value: string): number {
  const size = Number(value)
  if (!Number.isSafeInteger(size) || size < -1) throw invalid(`bad body size ${value}`)
  return size
}

export function checkMetadata (metadata: Record<string, string>): void {
  let bytes = 0
  for (const [key, value] of Object.entries(metadata)) {
    if (key === '') throw invalid('empty metadata key')
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value)
  }
  if (bytes > MAX_METADATA_BYTES) throw invalid(`metadata larger than ${MAX_METADATA_BYTES} bytes`)
}

export interface RangeRequest {
  offset: number
  /** -1 = to the end */
  length: number
}

export function rangeRequest (offset: string, length: string): RangeRequest {
  const start = Number(offset)
  const count = Number(length)
  if (!Number.isSafeInteger(start) || start < 0) throw invalid(`bad range offset ${offset}`)
  if (!Number.isSafeInteger(count) || count < -1) throw invalid(`bad range length ${length}`)
  return { offset: start, length: count }
}

/**
 * [start, end) of an object of `size` bytes. The whole object (offset 0, to
 * the end) and empty ranges always succeed; any other range must start
 * inside the object, and is clipped at its end.
 */
export function resolveRange ({ offset, length }: RangeRequest, size: number): [number, number] {
  if (length === 0) return [offset, offset]
  if (offset === 0 && length === -1) return [0, size]
  if (offset >= size) throw invalid(`range not satisfiable: offset ${offset} of a ${size}-byte object`)
  return [offset, length === -1 ? size : Math.min(size, offset + length)]
}
