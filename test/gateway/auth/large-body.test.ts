import { createHash } from 'node:crypto'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import test from 'ava'
import { crc32c } from '@node-rs/crc32'
import { createPayloadStream, type S3Request } from '../../../gateway/s3/auth/index.ts'
import { authenticated, ChunkSigner, KEY, sdkSign, seedSignatureOf } from './helpers.ts'

/**
 * A 64 MiB body, generated on the fly in fresh 64 KiB network reads, goes
 * through the signed aws-chunked path (chunk signatures, signed trailer,
 * md5 + crc32c) while the retained memory stays flat: nothing is buffered.
 */

const MiB = 1024 * 1024
const TOTAL = 64 * MiB
const CHUNK = MiB
const READ = 64 * 1024

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

function retained (): number {
  gc()
  const { heapUsed, arrayBuffers } = process.memoryUsage()
  return heapUsed + arrayBuffers
}

function fill (buffer: Buffer, offset: number): Buffer {
  for (let i = 0; i < buffer.length; i += 4) buffer.writeUInt32LE((offset + i) >>> 0, i)
  return buffer
}

async function * signedBody (request: S3Request, digest: { crc: number, md5: ReturnType<typeof createHash> }): AsyncGenerator<Buffer> {
  const signer = new ChunkSigner({
    seedSignature: seedSignatureOf(request),
    secretAccessKey: KEY.secretAccessKey,
    date: String(request.headers['x-amz-date']),
    scope: /Credential=[^/]+\/([^,]+),/.exec(String(request.headers.authorization))![1]!
  })
  for (let offset = 0; offset < TOTAL; offset += CHUNK) {
    const reads: Buffer[] = []
    for (let at = 0; at < CHUNK; at += READ) reads.push(fill(Buffer.allocUnsafe(READ), offset + at))
    const chunk = Buffer.concat(reads)
    digest.crc = crc32c(chunk, digest.crc)
    digest.md5.update(chunk)
    yield signer.header(chunk)
    for (const read of reads) yield read
    yield Buffer.from('\r\n')
  }
  const trailer = Buffer.alloc(4)
  trailer.writeUInt32BE(digest.crc >>> 0)
  yield Buffer.concat([signer.header(Buffer.alloc(0)), signer.end([['x-amz-checksum-crc32c', trailer.toString('base64')]])])
}

test('64 MiB of signed aws-chunked with a signed trailer streams in bounded memory', async (t) => {
  const now = new Date()
  const request = await sdkSign({
    method: 'PUT',
    path: '/bucket/large',
    headers: {
      'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': String(TOTAL),
      'x-amz-trailer': 'x-amz-checksum-crc32c'
    },
    now
  })
  const auth = await authenticated(request, () => now)
  const expected = { crc: 0, md5: createHash('md5') }
  const payload = createPayloadStream(signedBody(request, expected), auth, request.headers)

  const baseline = retained()
  let peak = 0
  let bytes = 0
  let sinceSample = 0
  for await (const piece of payload.body) {
    bytes += piece.length
    sinceSample += piece.length
    if (sinceSample >= 4 * MiB) {
      sinceSample = 0
      peak = Math.max(peak, retained() - baseline)
    }
  }
  const result = payload.result()
  t.is(bytes, TOTAL)
  t.is(result.bytes, TOTAL)
  t.is(result.md5Hex, expected.md5.digest('hex'))
  t.is(result.verified.chunkSignatures, TOTAL / CHUNK + 1)
  t.true(result.verified.trailerSignature)
  t.true(result.verified.checksum)
  t.log(`retained memory above baseline while streaming: ${(peak / MiB).toFixed(1)} MiB`)
  t.true(peak < 16 * MiB, `retained ${(peak / MiB).toFixed(1)} MiB while streaming 64 MiB`)
})
