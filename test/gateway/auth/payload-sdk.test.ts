import { Readable } from 'node:stream'
import test from 'ava'
import { PutObjectCommand, UploadPartCommand, type ChecksumAlgorithm as SdkChecksumAlgorithm } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { createPayloadStream, parseChecksumAlgorithm, storedContentEncoding, type PayloadStreamOptions } from '../../../gateway/s3/auth/index.ts'
import type { S3Error } from '../../../gateway/s3/errors.ts'
import { authenticated, captureOne, capturingClient, drain, flipBit, reads, requestFromUrl, type Captured } from './helpers.ts'

/** Payload modes exactly as the current @aws-sdk/client-s3 writes them, default checksum behaviour on. */

const TEXT = Buffer.from('hello world')
const BIG = Buffer.alloc(300_001, 'ringstack ')

async function decode (captured: Captured, body: Buffer[] = captured.body, options: PayloadStreamOptions = {}) {
  const auth = await authenticated(captured)
  return await drain(createPayloadStream(reads(body), auth, captured.headers, options))
}

const streamOf = (data: Buffer): Readable => Readable.from([data.subarray(0, 100_000), data.subarray(100_000, 200_000), data.subarray(200_000)])

test('a Buffer body: signed sha256 plus x-amz-checksum-crc32 header', async (t) => {
  const captured = await captureOne((client) => client.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: TEXT })))
  t.is(captured.headers['x-amz-content-sha256'], 'b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9')
  const { data, result } = await decode(captured)
  t.deepEqual(data, TEXT)
  t.is(result.bytes, 11)
  t.is(result.md5Hex, '5eb63bbbe01eeed093cb22bb8f5acdc3')
  t.deepEqual(result.checksum, { algorithm: 'crc32', value: 'DUoRhQ==', source: 'header' })
  t.true(result.verified.contentSha256)
  t.true(result.verified.checksum)

  const mismatch = await t.throwsAsync<S3Error>(decode(captured, [flipBit(TEXT, 3)]), { code: 'XAmzContentSHA256Mismatch' })
  t.is(mismatch?.details.ClientComputedContentSHA256, 'b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9')
  await t.throwsAsync(decode(captured, [TEXT.subarray(0, 10)]), { code: 'IncompleteBody' })
})

for (const algorithm of ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as SdkChecksumAlgorithm[]) {
  test(`a streamed body: STREAMING-UNSIGNED-PAYLOAD-TRAILER with a ${algorithm} trailer`, async (t) => {
    const captured = await captureOne((client) => client.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: streamOf(BIG), ContentLength: BIG.length, ChecksumAlgorithm: algorithm })))
    const name = `x-amz-checksum-${algorithm.toLowerCase()}`
    t.is(captured.headers['x-amz-content-sha256'], 'STREAMING-UNSIGNED-PAYLOAD-TRAILER')
    t.is(captured.headers['x-amz-trailer'], name)
    t.is(storedContentEncoding(captured.headers), undefined)
    const { data, result } = await decode(captured)
    t.true(data.equals(BIG))
    t.is(result.checksum?.source, 'trailer')
    t.is(result.checksum?.algorithm, parseChecksumAlgorithm(algorithm))
    t.true(result.verified.checksum)
    t.is(result.trailers[name], result.checksum?.value)

    const wire = Buffer.concat(captured.body)
    const sent = result.checksum!.value
    const wrong = flipBit(Buffer.from(sent, 'base64'), 0).toString('base64')
    const wrongTrailer = Buffer.from(wire.toString('latin1').replace(`${name}:${sent}`, `${name}:${wrong}`), 'latin1')
    await t.throwsAsync(decode(captured, [wrongTrailer]), { code: 'BadDigest', message: `The ${algorithm} you specified did not match the calculated checksum.` })

    await t.throwsAsync(decode(captured, [flipBit(wire, 200)]), { code: 'BadDigest' })

    const malformed = Buffer.from(wire.toString('latin1').replace(`${name}:${sent}`, `${name}:not base64!`), 'latin1')
    await t.throwsAsync(decode(captured, [malformed]), { code: 'InvalidRequest', message: /trailing header is invalid/ })

    const missing = Buffer.from(wire.toString('latin1').replace(`${name}:${sent}\r\n`, ''), 'latin1')
    await t.throwsAsync(decode(captured, [missing]), { code: 'MalformedTrailerError' })
  })
}

test('empty bodies: a streamed one carries crc32("") in its trailer, a Buffer one in a header', async (t) => {
  for (const body of [Readable.from([]), Buffer.alloc(0)]) {
    const captured = await captureOne((client) => client.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: body, ContentLength: 0 })))
    const { data, result } = await decode(captured)
    t.is(data.length, 0)
    t.is(result.md5Hex, 'd41d8cd98f00b204e9800998ecf8427e')
    t.is(result.checksum?.value, 'AAAAAA==')
    t.true(result.verified.checksum)
  }
})

test('UploadPart streams the same way', async (t) => {
  const captured = await captureOne((client) => client.send(new UploadPartCommand({ Bucket: 'b', Key: 'k', UploadId: 'u', PartNumber: 2, Body: streamOf(BIG), ContentLength: BIG.length })))
  const { data, result } = await decode(captured)
  t.true(data.equals(BIG))
  t.is(result.checksum?.algorithm, 'crc32')
})

test('UNSIGNED-PAYLOAD (requestChecksumCalculation WHEN_REQUIRED), with Content-MD5 good, bad and malformed', async (t) => {
  const send = async (contentMd5?: string): Promise<Captured> => await captureOne(
    (client) => client.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: streamOf(BIG), ContentLength: BIG.length, ...(contentMd5 === undefined ? {} : { ContentMD5: contentMd5 }) })),
    { requestChecksumCalculation: 'WHEN_REQUIRED' })
  const plain = await send()
  t.is(plain.headers['x-amz-content-sha256'], 'UNSIGNED-PAYLOAD')
  const { result } = await decode(plain)
  t.is(result.checksum, undefined)
  t.false(result.verified.contentMd5)
  const md5 = Buffer.from(result.md5Hex, 'hex').toString('base64')

  t.true((await decode(await send(md5))).result.verified.contentMd5)
  const other = flipBit(Buffer.from(result.md5Hex, 'hex'), 0)
  const bad = await t.throwsAsync<S3Error>(decode(await send(other.toString('base64'))), { code: 'BadDigest', message: 'The Content-MD5 you specified did not match what we received.' })
  t.is(bad?.details.CalculatedDigest, result.md5Hex)
  const malformed = await send('bm90LWFuLW1kNQ==')
  const auth = await authenticated(malformed)
  t.throws(() => createPayloadStream(reads(malformed.body), auth, malformed.headers), { code: 'InvalidDigest' })
  t.throws(() => createPayloadStream(reads(malformed.body), auth, { ...malformed.headers, 'content-md5': 'zzz' }), { code: 'InvalidDigest' })
})

test('a wrong x-amz-checksum header from the SDK is BadDigest', async (t) => {
  const captured = await captureOne((client) => client.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: TEXT, ChecksumSHA256: Buffer.alloc(32).toString('base64') })))
  await t.throwsAsync(decode(captured), { code: 'BadDigest', message: 'The SHA256 you specified did not match the calculated checksum.' })
})

test('a presigned PUT from the default JS presigner carries crc32("") and fails like S3 does; WHEN_REQUIRED works', async (t) => {
  const { client } = capturingClient()
  const url = await getSignedUrl(client, new PutObjectCommand({ Bucket: 'b', Key: 'k' }), { expiresIn: 60 })
  const request = requestFromUrl('PUT', url, { 'content-length': String(TEXT.length) })
  const auth = await authenticated(request)
  await t.throwsAsync(drain(createPayloadStream(reads([TEXT]), auth, request.headers)), { code: 'BadDigest' })
  // An empty body matches the baked-in value.
  const empty = requestFromUrl('PUT', url, { 'content-length': '0' })
  t.is((await drain(createPayloadStream(reads([]), auth, empty.headers))).result.checksum?.value, 'AAAAAA==')

  const { client: plainClient } = capturingClient({ requestChecksumCalculation: 'WHEN_REQUIRED' })
  const plainUrl = await getSignedUrl(plainClient, new PutObjectCommand({ Bucket: 'b', Key: 'k' }), { expiresIn: 60 })
  const plainRequest = requestFromUrl('PUT', plainUrl, { 'content-length': String(TEXT.length) })
  const { data, result } = await drain(createPayloadStream(reads([TEXT]), await authenticated(plainRequest), plainRequest.headers))
  t.deepEqual(data, TEXT)
  t.is(result.checksum, undefined)
})
