import { createHash } from 'node:crypto'
import { crc32 } from 'node:zlib'

/**
 * The S3 additional checksums computed the slow, obvious way (bit-reflected
 * table CRCs from their published parameters), so tests check the
 * gateway's values against something that is neither its own code nor the
 * SDK's.
 */

function reflectedTable (poly: bigint, width: number): bigint[] {
  const mask = (1n << BigInt(width)) - 1n
  return Array.from({ length: 256 }, (_, byte) => {
    let crc = BigInt(byte)
    for (let bit = 0; bit < 8; bit++) crc = (crc & 1n) === 1n ? (crc >> 1n) ^ poly : crc >> 1n
    return crc & mask
  })
}

function reflectedCrc (data: Uint8Array, table: bigint[], width: number): Buffer {
  const mask = (1n << BigInt(width)) - 1n
  let crc = mask
  for (const byte of data) crc = table[Number((crc ^ BigInt(byte)) & 0xffn)]! ^ (crc >> 8n)
  crc ^= mask
  const out = Buffer.alloc(width / 8)
  if (width === 64) out.writeBigUInt64BE(crc)
  else out.writeUInt32BE(Number(crc))
  return out
}

const CRC32C = reflectedTable(0x82f63b78n, 32)
const CRC64NVME = reflectedTable(0x9a6c9329ac4bc9b5n, 64)

export type ReferenceAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256'
export const REFERENCE_ALGORITHMS: readonly ReferenceAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256']

/** The base64 value S3 sends in `x-amz-checksum-<algorithm>`. */
export function referenceChecksum (algorithm: ReferenceAlgorithm, data: Uint8Array): string {
  switch (algorithm) {
    case 'CRC32': {
      const out = Buffer.alloc(4)
      out.writeUInt32BE(crc32(data))
      return out.toString('base64')
    }
    case 'CRC32C': return reflectedCrc(data, CRC32C, 32).toString('base64')
    case 'CRC64NVME': return reflectedCrc(data, CRC64NVME, 64).toString('base64')
    case 'SHA1': return createHash('sha1').update(data).digest('base64')
    case 'SHA256': return createHash('sha256').update(data).digest('base64')
  }
}

export function md5Hex (data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex')
}

/** The ETag of a multipart object: md5 of the parts' binary md5s, then `-<parts>`. */
export function multipartEtag (parts: readonly Uint8Array[]): string {
  const digests = parts.map((part) => createHash('md5').update(part).digest())
  return `${createHash('md5').update(Buffer.concat(digests)).digest('hex')}-${parts.length}`
}
