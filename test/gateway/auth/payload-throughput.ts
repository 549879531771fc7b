/**
 * Throughput of createPayloadStream per payload mode, without HTTP:
 * `npx tsx test/gateway/auth/payload-throughput.ts [MiB=256]`.
 * The body arrives in 64 KiB reads (what node:http hands over) and is framed
 * beforehand, so the figure is the decoder, the signature checks and the
 * digests (md5 always, plus the mode's checksum), nothing else.
 */
import { createHash } from 'node:crypto'
import { crc32 } from '@node-rs/crc32'
import { createPayloadStream, type S3Request } from '../../../gateway/s3/auth/index.ts'
import { authenticated, ChunkSigner, KEY, sdkSign, seedSignatureOf } from './helpers.ts'

const MiB = 1024 * 1024
const total = Number(process.argv[2] ?? 256) * MiB
const READ = 64 * 1024
const CHUNK = MiB
const data = Buffer.alloc(CHUNK, 'ringstack-')

function reads (frames: Buffer[]): Buffer[] {
  const out: Buffer[] = []
  for (const frame of frames) for (let i = 0; i < frame.length; i += READ) out.push(frame.subarray(i, i + READ))
  return out
}

const crcOfAll = (): string => {
  let crc = 0
  for (let i = 0; i < total / CHUNK; i++) crc = crc32(data, crc)
  const out = Buffer.alloc(4)
  out.writeUInt32BE(crc >>> 0)
  return out.toString('base64')
}

async function signed (mode: string, extra: Record<string, string>, now: Date): Promise<S3Request> {
  return await sdkSign({ method: 'PUT', path: '/bucket/key', headers: { 'x-amz-content-sha256': mode, ...extra }, now })
}

async function framed (name: string, now: Date): Promise<{ request: S3Request, body: Buffer[] }> {
  const chunks = total / CHUNK
  const chunked = { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(total) }
  const signerFor = (request: S3Request): ChunkSigner => new ChunkSigner({
    seedSignature: seedSignatureOf(request),
    secretAccessKey: KEY.secretAccessKey,
    date: String(request.headers['x-amz-date']),
    scope: /Credential=[^/]+\/([^,]+),/.exec(String(request.headers.authorization))![1]!
  })
  switch (name) {
    case 'UNSIGNED-PAYLOAD': {
      const request = await signed('UNSIGNED-PAYLOAD', { 'content-length': String(total) }, now)
      return { request, body: reads(Array.from({ length: chunks }, () => data)) }
    }
    case 'signed sha256': {
      const hash = createHash('sha256')
      for (let i = 0; i < chunks; i++) hash.update(data)
      const request = await signed(hash.digest('hex'), { 'content-length': String(total) }, now)
      return { request, body: reads(Array.from({ length: chunks }, () => data)) }
    }
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD':
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER': {
      const trailer = name.endsWith('TRAILER')
      const request = await signed(name, { ...chunked, ...(trailer ? { 'x-amz-trailer': 'x-amz-checksum-crc32' } : {}) }, now)
      const signer = signerFor(request)
      const frames: Buffer[] = []
      for (let i = 0; i < chunks; i++) frames.push(signer.header(data), data, Buffer.from('\r\n'))
      frames.push(signer.header(Buffer.alloc(0)), signer.end(trailer ? [['x-amz-checksum-crc32', crcOfAll()]] : undefined))
      return { request, body: reads(frames) }
    }
    default: {
      const request = await signed('STREAMING-UNSIGNED-PAYLOAD-TRAILER', { ...chunked, 'x-amz-trailer': 'x-amz-checksum-crc32' }, now)
      const frames: Buffer[] = []
      for (let i = 0; i < chunks; i++) frames.push(Buffer.from(`${CHUNK.toString(16)}\r\n`), data, Buffer.from('\r\n'))
      frames.push(Buffer.from(`0\r\nx-amz-checksum-crc32:${crcOfAll()}\r\n\r\n`))
      return { request, body: reads(frames) }
    }
  }
}

const MODES = ['UNSIGNED-PAYLOAD', 'signed sha256', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER']

async function * source (body: Buffer[]): AsyncGenerator<Buffer> {
  for (const read of body) yield read
}

const now = new Date()
console.log(`payload stream throughput, ${total / MiB} MiB body, 64 KiB reads, ${CHUNK / MiB} MiB aws-chunks`)
for (const mode of MODES) {
  const { request, body } = await framed(mode, now)
  const auth = await authenticated(request, () => now)
  let best = Number.POSITIVE_INFINITY
  for (let run = 0; run < 3; run++) {
    const started = performance.now()
    const payload = createPayloadStream(source(body), auth, request.headers)
    for await (const piece of payload.body) if (piece.length < 0) throw new Error('unreachable')
    if (payload.result().bytes !== total) throw new Error('short body')
    best = Math.min(best, performance.now() - started)
  }
  console.log(`${mode.padEnd(44)} ${(total / MiB / (best / 1000)).toFixed(0).padStart(6)} MiB/s`)
}
