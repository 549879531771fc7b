import { createHash } from 'node:crypto'
import test from 'ava'
import { Crc64Nvme } from '@aws-sdk/crc64-nvme'
import { authenticate, createPayloadStream, type AuthContext, type S3Request } from '../../../gateway/s3/auth/index.ts'
import type { S3Error } from '../../../gateway/s3/errors.ts'
import {
  authenticated, credentials, cut, DOC, drain, everyBytes, flipBit, KEY, prng, reads, sdkSign, seedSignatureOf,
  signedChunkedBody, unsignedChunkedBody
} from './helpers.ts'

/**
 * aws-chunked bodies: the AWS documentation examples (known seed, chunk and
 * trailer signatures) and bodies whose seed signature comes from the
 * official signer (@smithy/signature-v4), fed in every possible split.
 */

const DOC_DATA = Buffer.alloc(66_560, 'a')
const docChunk = (size: number, signature: string, data: Buffer): Buffer[] =>
  [Buffer.from(`${size.toString(16)};chunk-signature=${signature}\r\n`), data, Buffer.from(size > 0 ? '\r\n' : '')]

// "Signature Calculations … Transferring Payload in Multiple Chunks", Example: PUT Object.
const DOC_STREAMING = {
  request: {
    method: 'PUT',
    rawUrl: '/examplebucket/chunkObject.txt',
    headers: {
      host: 's3.amazonaws.com',
      'x-amz-date': DOC.date,
      'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': '66560',
      'content-length': '66824',
      authorization: `AWS4-HMAC-SHA256 Credential=${DOC.accessKeyId}/${DOC.scope},SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9`
    }
  },
  body: Buffer.concat([
    ...docChunk(65_536, 'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648', DOC_DATA.subarray(0, 65_536)),
    ...docChunk(1024, '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497', DOC_DATA.subarray(65_536)),
    ...docChunk(0, 'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9', Buffer.alloc(0)),
    Buffer.from('\r\n')
  ])
}

// "Signature calculations for trailing headers (chunked uploads)", the same object with a signed CRC32C trailer.
const DOC_TRAILER = {
  request: {
    method: 'PUT',
    rawUrl: '/examplebucket/chunkObject.txt',
    headers: {
      host: 's3.amazonaws.com',
      'x-amz-date': DOC.date,
      'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': '66560',
      'x-amz-trailer': 'x-amz-checksum-crc32c',
      authorization: `AWS4-HMAC-SHA256 Credential=${DOC.accessKeyId}/${DOC.scope},SignedHeaders=content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer,Signature=106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e`
    }
  },
  body: Buffer.concat([
    ...docChunk(65_536, 'b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2', DOC_DATA.subarray(0, 65_536)),
    ...docChunk(1024, '1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7', DOC_DATA.subarray(65_536)),
    ...docChunk(0, '2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992', Buffer.alloc(0)),
    Buffer.from('x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n')
  ])
}

async function decode (request: S3Request, body: Buffer[], now?: () => Date) {
  const auth = await authenticated(request, now)
  return await drain(createPayloadStream(reads(body), auth, request.headers))
}

test('AWS example: STREAMING-AWS4-HMAC-SHA256-PAYLOAD, every chunk signature checked', async (t) => {
  t.is(DOC_STREAMING.body.length, 66_824)
  const { data, result } = await decode(DOC_STREAMING.request, [DOC_STREAMING.body], DOC.now)
  t.true(data.equals(DOC_DATA))
  t.is(result.verified.chunkSignatures, 3)
  t.is(result.bytes, 66_560)
  // One byte per read is the worst split a network can produce.
  t.true((await decode(DOC_STREAMING.request, everyBytes(DOC_STREAMING.body, 1), DOC.now)).data.equals(DOC_DATA))
})

test('our test chunk signer reproduces the AWS example, so bodies built with it are trustworthy', (t) => {
  const built = signedChunkedBody({ data: DOC_DATA, chunkSize: 65_536, seedSignature: '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9', secretAccessKey: DOC.secretAccessKey, date: DOC.date, scope: DOC.scope })
  t.true(built.equals(DOC_STREAMING.body))
  const trailer = signedChunkedBody({ data: DOC_DATA, chunkSize: 65_536, seedSignature: '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e', secretAccessKey: DOC.secretAccessKey, date: DOC.date, scope: DOC.scope, trailer: [['x-amz-checksum-crc32c', 'sOO8/Q==']] })
  t.true(trailer.equals(DOC_TRAILER.body))
})

test('AWS example: STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER with its signed crc32c trailer', async (t) => {
  const { data, result } = await decode(DOC_TRAILER.request, [DOC_TRAILER.body], DOC.now)
  t.true(data.equals(DOC_DATA))
  t.deepEqual(result.checksum, { algorithm: 'crc32c', value: 'sOO8/Q==', source: 'trailer' })
  t.true(result.verified.trailerSignature)
  t.deepEqual(result.trailers, { 'x-amz-checksum-crc32c': 'sOO8/Q==' })
})

test('a tampered chunk signature, chunk byte, final chunk or trailer is refused', async (t) => {
  const text = DOC_STREAMING.body.toString('latin1')
  const swapHex = (source: string, signature: string): Buffer => Buffer.from(source.replace(signature, signature.slice(0, -1) + (signature.endsWith('0') ? '1' : '0')), 'latin1')
  for (const signature of ['ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648', '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497', 'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9']) {
    await t.throwsAsync(decode(DOC_STREAMING.request, [swapHex(text, signature)], DOC.now), { code: 'SignatureDoesNotMatch' })
  }
  await t.throwsAsync(decode(DOC_STREAMING.request, [flipBit(DOC_STREAMING.body, 5000)], DOC.now), { code: 'SignatureDoesNotMatch' })
  await t.throwsAsync(decode(DOC_STREAMING.request, [flipBit(DOC_STREAMING.body, 66_000)], DOC.now), { code: 'SignatureDoesNotMatch' })
  const unsignedChunk = Buffer.from(text.replace(';chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497', ''), 'latin1')
  await t.throwsAsync(decode(DOC_STREAMING.request, [unsignedChunk], DOC.now), { code: 'SignatureDoesNotMatch' })

  const trailerText = DOC_TRAILER.body.toString('latin1')
  const otherValue = Buffer.from(trailerText.replace('sOO8/Q==', 'AAAAAA=='), 'latin1')
  await t.throwsAsync(decode(DOC_TRAILER.request, [otherValue], DOC.now), { code: 'SignatureDoesNotMatch', message: /trailer signature/ })
  const trailerSignature = 'd81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435'
  await t.throwsAsync(decode(DOC_TRAILER.request, [swapHex(trailerText, trailerSignature)], DOC.now), { code: 'SignatureDoesNotMatch' })
  const unsignedTrailer = Buffer.from(trailerText.replace(`x-amz-trailer-signature:${trailerSignature}\r\n`, ''), 'latin1')
  await t.throwsAsync(decode(DOC_TRAILER.request, [unsignedTrailer], DOC.now), { code: 'SignatureDoesNotMatch' })
})

test('a signed trailer whose checksum is wrong is BadDigest', async (t) => {
  const now = new Date()
  const request = await signedRequest('STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', DOC_DATA.length, now, 'x-amz-checksum-crc32c')
  const body = signedChunkedBody({ data: DOC_DATA, chunkSize: 8192, seedSignature: seedSignatureOf(request), secretAccessKey: KEY.secretAccessKey, date: String(request.headers['x-amz-date']), scope: scopeOf(request), trailer: [['x-amz-checksum-crc32c', 'AAAAAA==']] })
  await t.throwsAsync(decode(request, [body], () => now), { code: 'BadDigest', message: 'The CRC32C you specified did not match the calculated checksum.' })
})

function scopeOf (request: S3Request): string {
  return /Credential=[^/]+\/([^,]+),/.exec(String(request.headers.authorization))![1]!
}

async function signedRequest (mode: string, length: number, now: Date, trailer?: string): Promise<S3Request> {
  return await sdkSign({
    method: 'PUT',
    path: '/bucket/key',
    headers: {
      'x-amz-content-sha256': mode,
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': String(length),
      ...(trailer === undefined ? {} : { 'x-amz-trailer': trailer })
    },
    now
  })
}

async function crc64nvme (data: Buffer): Promise<string> {
  const crc = new Crc64Nvme()
  crc.update(data)
  return Buffer.from(await crc.digest()).toString('base64')
}

interface Case { name: string, request: S3Request, body: Buffer, data: Buffer, now: Date }

async function smallCases (): Promise<Case[]> {
  const now = new Date()
  const data = Buffer.from('The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. 0123456789')
  const signed = await signedRequest('STREAMING-AWS4-HMAC-SHA256-PAYLOAD', data.length, now)
  const signedTrailer = await signedRequest('STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', data.length, now, 'x-amz-checksum-sha256')
  const unsignedTrailer = await signedRequest('STREAMING-UNSIGNED-PAYLOAD-TRAILER', data.length, now, 'x-amz-checksum-crc64nvme')
  const common = (request: S3Request) => ({ seedSignature: seedSignatureOf(request), secretAccessKey: KEY.secretAccessKey, date: String(request.headers['x-amz-date']), scope: scopeOf(request), data, chunkSize: 37 })
  return [
    { name: 'signed chunks', request: signed, data, now, body: signedChunkedBody(common(signed)) },
    { name: 'signed chunks + trailer', request: signedTrailer, data, now, body: signedChunkedBody({ ...common(signedTrailer), trailer: [['x-amz-checksum-sha256', createHash('sha256').update(data).digest('base64')]] }) },
    { name: 'unsigned chunks + trailer', request: unsignedTrailer, data, now, body: unsignedChunkedBody(data, 37, [['x-amz-checksum-crc64nvme', await crc64nvme(data)]]) }
  ]
}

test('every split of a small body decodes the same: one cut anywhere, byte by byte, random cuts', async (t) => {
  for (const c of await smallCases()) {
    const auth = await authenticated(c.request, () => c.now)
    const run = async (reads_: Buffer[]) => await drain(createPayloadStream(reads(reads_), auth, c.request.headers))
    const whole = await run([c.body])
    t.true(whole.data.equals(c.data), c.name)
    for (let at = 0; at <= c.body.length; at++) t.deepEqual(await run(cut(c.body, [at])), whole, `${c.name}, cut at ${at}`)
    t.deepEqual(await run(everyBytes(c.body, 1)), whole, c.name)
    const random = prng(c.body.length)
    for (let round = 0; round < 300; round++) {
      const cuts = Array.from({ length: 1 + Math.floor(random() * 8) }, () => Math.floor(random() * c.body.length))
      t.deepEqual(await run(cut(c.body, cuts)), whole, `${c.name}, cuts ${cuts.join(',')}`)
    }
  }
})

test('every truncation of a small body is IncompleteBody, wherever it is cut', async (t) => {
  for (const c of await smallCases()) {
    const auth = await authenticated(c.request, () => c.now)
    for (let length = 0; length < c.body.length; length++) {
      const truncated = c.body.subarray(0, length)
      const error = await t.throwsAsync<S3Error>(drain(createPayloadStream(reads(everyBytes(truncated, 16)), auth, c.request.headers)))
      t.is(error?.code, 'IncompleteBody', `${c.name} cut to ${length}: ${error?.message}`)
    }
  }
})

test('malformed framing is InvalidRequest; lengths must match x-amz-decoded-content-length', async (t) => {
  const [signed, , unsignedTrailer] = await smallCases()
  const run = async (c: Case, body: Buffer, headers = c.request.headers) => {
    const auth: AuthContext | undefined = await authenticate({ ...c.request, headers }, { credentials: credentials(), now: () => c.now })
    return await drain(createPayloadStream(reads([body]), auth, headers))
  }
  const text = unsignedTrailer!.body.toString('latin1')
  const bad = (from: string, to: string): Buffer => Buffer.from(text.replace(from, to), 'latin1')
  await t.throwsAsync(run(unsignedTrailer!, bad('25\r\n', 'zz\r\n')), { code: 'InvalidRequest', message: /invalid chunk size/ })
  await t.throwsAsync(run(unsignedTrailer!, bad('25\r\n', '25 \r\n')), { code: 'InvalidRequest' })
  await t.throwsAsync(run(unsignedTrailer!, bad('25\r\n', '26\r\n')), { code: 'InvalidRequest', message: /CRLF/ })
  await t.throwsAsync(run(unsignedTrailer!, bad('25\r\n', '24\r\n')), { code: 'InvalidRequest', message: /CRLF/ })
  await t.throwsAsync(run(unsignedTrailer!, Buffer.concat([unsignedTrailer!.body, Buffer.from('x')])), { code: 'InvalidRequest', message: /after the end/ })
  await t.throwsAsync(run(unsignedTrailer!, Buffer.from('f'.repeat(5000) + '\r\n')), { code: 'InvalidRequest', message: /too long/ })
  await t.throwsAsync(run(unsignedTrailer!, bad('x-amz-checksum-crc64nvme:', 'x-amz-checksum-crc64nvme ')), { code: 'MalformedTrailerError' })

  const longer = { ...signed!.request.headers, 'x-amz-decoded-content-length': String(signed!.data.length + 1) }
  const shorter = { ...signed!.request.headers, 'x-amz-decoded-content-length': String(signed!.data.length - 1) }
  // The seed signature covers x-amz-decoded-content-length, so re-sign with the wrong value.
  const resign = async (headers: Record<string, unknown>) => await sdkSign({ method: 'PUT', path: '/bucket/key', headers: { 'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(headers['x-amz-decoded-content-length']) }, now: signed!.now })
  for (const [headers, code] of [[longer, 'IncompleteBody'], [shorter, 'InvalidRequest']] as const) {
    const request = await resign(headers)
    const body = signedChunkedBody({ data: signed!.data, chunkSize: 37, seedSignature: seedSignatureOf(request), secretAccessKey: KEY.secretAccessKey, date: String(request.headers['x-amz-date']), scope: scopeOf(request) })
    await t.throwsAsync(run({ ...signed!, request }, body, request.headers), { code })
  }
})

test('anonymous bodies: unsigned aws-chunked decodes, signed aws-chunked needs a signature', async (t) => {
  const [signed, , unsignedTrailer] = await smallCases()
  const { data, result } = await drain(createPayloadStream(reads([unsignedTrailer!.body]), undefined, unsignedTrailer!.request.headers))
  t.true(data.equals(unsignedTrailer!.data))
  t.is(result.checksum?.algorithm, 'crc64nvme')
  t.is(result.verified.chunkSignatures, 0)
  t.throws(() => createPayloadStream(reads([signed!.body]), undefined, signed!.request.headers), { code: 'InvalidRequest' })
})
