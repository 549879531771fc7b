import { endianness } from 'node:os'

// Files store typed arrays as base64 of their little-endian bytes.
const BIG_ENDIAN = endianness() === 'BE'

export function encodeArray (array: Uint16Array | Uint32Array): string {
  const bytes = Buffer.from(array.buffer, array.byteOffset, array.byteLength)
  if (!BIG_ENDIAN) return bytes.toString('base64')
  const copy = Buffer.from(bytes)
  if (array.BYTES_PER_ELEMENT === 2) copy.swap16()
  else copy.swap32()
  return copy.toString('base64')
}

export function decodeUint16 (text: string, length: number): Uint16Array | undefined {
  const bytes = decode(text, length * 2, 2)
  return bytes === undefined ? undefined : new Uint16Array(bytes.buffer, bytes.byteOffset, length)
}

export function decodeUint32 (text: string, length: number): Uint32Array | undefined {
  const bytes = decode(text, length * 4, 4)
  return bytes === undefined ? undefined : new Uint32Array(bytes.buffer, bytes.byteOffset, length)
}

/** Decoded bytes in a fresh, aligned buffer; undefined when the length is wrong. */
function decode (text: string, byteLength: number, width: 2 | 4): Uint8Array | undefined {
  if (typeof text !== 'string') return undefined
  const raw = Buffer.from(text, 'base64')
  if (raw.length !== byteLength) return undefined
  const bytes = new Uint8Array(byteLength)
  bytes.set(raw)
  if (BIG_ENDIAN) {
    const view = Buffer.from(bytes.buffer)
    if (width === 2) view.swap16()
    else view.swap32()
  }
  return bytes
}
