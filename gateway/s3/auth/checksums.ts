import { createHash, type Hash } from 'node:crypto'
import { Crc64Nvme } from '@aws-sdk/crc64-nvme'
import { crc32, crc32c } from '@node-rs/crc32'

/**
 * The additional checksums S3 accepts (`x-amz-checksum-<name>`). Values on
 * the wire are the base64 of the big-endian digest.
 */
export const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const
export type ChecksumAlgorithm = typeof CHECKSUM_ALGORITHMS[number]

const DIGEST_BYTES: Record<ChecksumAlgorithm, number> = { crc32: 4, crc32c: 4, crc64nvme: 8, sha1: 20, sha256: 32 }

export const CHECKSUM_HEADER_PREFIX = 'x-amz-checksum-'

export function checksumHeader (algorithm: ChecksumAlgorithm): string {
  return CHECKSUM_HEADER_PREFIX + algorithm
}

/** `crc32c` from `x-amz-checksum-crc32c`, or undefined for other names. */
export function algorithmOfHeader (name: string): ChecksumAlgorithm | undefined {
  const lower = name.toLowerCase()
  if (!lower.startsWith(CHECKSUM_HEADER_PREFIX)) return undefined
  return parseChecksumAlgorithm(lower.slice(CHECKSUM_HEADER_PREFIX.length))
}

/** Accepts S3's spellings (`CRC32C`, `crc64nvme`, `SHA256`). */
export function parseChecksumAlgorithm (name: string): ChecksumAlgorithm | undefined {
  const lower = name.toLowerCase()
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(lower) ? lower as ChecksumAlgorithm : undefined
}

/** How S3 names the algorithm in messages and in `x-amz-checksum-type` answers. */
export function checksumDisplayName (algorithm: ChecksumAlgorithm): string {
  return algorithm.toUpperCase()
}

/** True when `value` is canonical base64 of exactly the digest length of `algorithm`. */
export function isWellFormedChecksum (algorithm: ChecksumAlgorithm, value: string): boolean {
  return isCanonicalBase64(value, DIGEST_BYTES[algorithm])
}

export function isCanonicalBase64 (value: string, bytes: number): boolean {
  const decoded = Buffer.from(value, 'base64')
  // Buffer.from ignores junk; round-tripping rejects anything but the canonical text.
  return decoded.length === bytes && decoded.toString('base64') === value
}

function uint32Base64 (value: number): string {
  const out = Buffer.allocUnsafe(4)
  out.writeUInt32BE(value >>> 0)
  return out.toString('base64')
}

/**
 * Running digests over one body: md5 always (it is the S3 ETag and checks
 * Content-MD5), plus any requested checksum. `update` is called once per
 * buffer that arrives, never per byte.
 */
export class BodyDigests {
  readonly #md5: Hash = createHash('md5')
  readonly #sha: Partial<Record<'sha1' | 'sha256', Hash>> = {}
  readonly #crc64: Crc64Nvme | undefined
  readonly #algorithms: readonly ChecksumAlgorithm[]
  #crc32: number | undefined
  #crc32c: number | undefined

  constructor (algorithms: Iterable<ChecksumAlgorithm>) {
    this.#algorithms = [...new Set(algorithms)]
    for (const algorithm of this.#algorithms) {
      if (algorithm === 'sha1' || algorithm === 'sha256') this.#sha[algorithm] = createHash(algorithm)
    }
    if (this.#algorithms.includes('crc32')) this.#crc32 = 0
    if (this.#algorithms.includes('crc32c')) this.#crc32c = 0
    this.#crc64 = this.#algorithms.includes('crc64nvme') ? new Crc64Nvme() : undefined
  }

  get algorithms (): readonly ChecksumAlgorithm[] {
    return this.#algorithms
  }

  update (data: Uint8Array): void {
    this.#md5.update(data)
    if (this.#crc32 !== undefined) this.#crc32 = crc32(data, this.#crc32)
    if (this.#crc32c !== undefined) this.#crc32c = crc32c(data, this.#crc32c)
    this.#crc64?.update(data)
    this.#sha.sha1?.update(data)
    this.#sha.sha256?.update(data)
  }

  /** Finishes every digest; the object cannot be updated afterwards. */
  async digest (): Promise<{ md5: Buffer, checksums: Partial<Record<ChecksumAlgorithm, string>> }> {
    const checksums: Partial<Record<ChecksumAlgorithm, string>> = {}
    if (this.#crc32 !== undefined) checksums.crc32 = uint32Base64(this.#crc32)
    if (this.#crc32c !== undefined) checksums.crc32c = uint32Base64(this.#crc32c)
    if (this.#crc64 !== undefined) checksums.crc64nvme = Buffer.from(await this.#crc64.digest()).toString('base64')
    if (this.#sha.sha1 !== undefined) checksums.sha1 = this.#sha.sha1.digest('base64')
    if (this.#sha.sha256 !== undefined) checksums.sha256 = this.#sha.sha256.digest('base64')
    return { md5: this.#md5.digest(), checksums }
  }
}

/** One-shot checksum of a whole buffer, for small bodies and tests. */
export async function checksumOf (algorithm: ChecksumAlgorithm, data: Uint8Array): Promise<string> {
  const digests = new BodyDigests([algorithm])
  digests.update(data)
  const { checksums } = await digests.digest()
  return checksums[algorithm]!
}
