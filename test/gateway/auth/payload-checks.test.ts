import { Readable } from 'node:stream'
import test from 'ava'
import { createPayloadStream, storedContentEncoding } from '../../../gateway/s3/auth/index.ts'
import type { S3Error } from '../../../gateway/s3/errors.ts'
import { drain, reads } from './helpers.ts'

/** Header-driven checks of createPayloadStream, on anonymous (unsigned) bodies. */

const TEXT = Buffer.from('hello world')
const plain = (headers: Record<string, string> = {}) => ({ 'content-length': String(TEXT.length), ...headers })

test('a plain body: md5, Content-Length and the computed checksums', async (t) => {
  const payload = createPayloadStream(reads([TEXT.subarray(0, 4), TEXT.subarray(4)]), undefined, plain(), { compute: ['crc64nvme', 'sha1'] })
  t.is(payload.mode, 'unsigned')
  t.is(payload.expectedBytes, 11)
  const { data, result } = await drain(payload)
  t.deepEqual(data, TEXT)
  t.is(result.md5Hex, '5eb63bbbe01eeed093cb22bb8f5acdc3')
  t.is(result.md5Base64, 'XrY7u+Ae7tCTyyK7j1rNww==')
  t.deepEqual(result.checksums, { crc64nvme: 'jSnVw/bqjr4=', sha1: 'Kq5sNclPz7QV2+lfQIuc6R7oRu0=' })
  t.is(result.checksum, undefined)
  await t.throwsAsync(drain(createPayloadStream(reads([TEXT.subarray(0, 5)]), undefined, plain())), { code: 'IncompleteBody' })
  // Without Content-Length (Transfer-Encoding: chunked, or a GET) any length is whole.
  const unsized = createPayloadStream(reads([TEXT]), undefined, {})
  t.is(unsized.expectedBytes, undefined)
  t.is((await drain(unsized)).result.bytes, 11)
  t.is((await drain(createPayloadStream(reads([]), undefined, {}))).result.bytes, 0)
  await t.throwsAsync(drain(createPayloadStream(reads([TEXT, TEXT]), undefined, plain())), { code: 'InvalidRequest' })
})

test('x-amz-checksum-* headers: verified, one at most, well-formed', async (t) => {
  const ok = await drain(createPayloadStream(reads([TEXT]), undefined, plain({ 'x-amz-checksum-crc32c': 'yZRlqg==' })))
  t.deepEqual(ok.result.checksum, { algorithm: 'crc32c', value: 'yZRlqg==', source: 'header' })
  await t.throwsAsync(drain(createPayloadStream(reads([TEXT]), undefined, plain({ 'x-amz-checksum-crc32c': 'AAAAAA==' }))),
    { code: 'BadDigest', message: 'The CRC32C you specified did not match the calculated checksum.' })
  t.throws(() => createPayloadStream(reads([TEXT]), undefined, plain({ 'x-amz-checksum-crc32c': 'yZRlqg' })), { code: 'InvalidRequest', message: /x-amz-checksum-crc32c header is invalid/ })
  t.throws(() => createPayloadStream(reads([TEXT]), undefined, plain({ 'x-amz-checksum-crc32c': 'yZRlqg==', 'x-amz-checksum-crc32': 'DUoRhQ==' })), { code: 'InvalidRequest', message: /single x-amz-checksum/ })
  // Other x-amz-checksum-* headers are not checksums.
  t.truthy(createPayloadStream(reads([TEXT]), undefined, plain({ 'x-amz-checksum-mode': 'ENABLED', 'x-amz-checksum-type': 'FULL_OBJECT' })))
})

test('for CompleteMultipartUpload, checksum headers describe the object, not the XML body', async (t) => {
  const headers = plain({ 'x-amz-checksum-crc32': 'AAAAAA==', 'x-amz-checksum-type': 'FULL_OBJECT' })
  await t.throwsAsync(drain(createPayloadStream(reads([TEXT]), undefined, headers)), { code: 'BadDigest' })
  const { result } = await drain(createPayloadStream(reads([TEXT]), undefined, headers, { headerChecksums: 'object' }))
  t.is(result.checksum, undefined)
})

test('x-amz-sdk-checksum-algorithm alone asks for a computed checksum; it must agree with the one sent', async (t) => {
  const computed = await drain(createPayloadStream(reads([TEXT]), undefined, plain({ 'x-amz-sdk-checksum-algorithm': 'CRC64NVME' })))
  t.deepEqual(computed.result.checksum, { algorithm: 'crc64nvme', value: 'jSnVw/bqjr4=', source: 'computed' })
  t.false(computed.result.verified.checksum)
  t.throws(() => createPayloadStream(reads([TEXT]), undefined, plain({ 'x-amz-sdk-checksum-algorithm': 'MD5' })), { code: 'InvalidRequest' })
  t.throws(() => createPayloadStream(reads([TEXT]), undefined, plain({ 'x-amz-sdk-checksum-algorithm': 'SHA1', 'x-amz-checksum-crc32': 'DUoRhQ==' })), { code: 'InvalidRequest' })
})

test('a signed sha256 body without a signature is still checked against x-amz-content-sha256', async (t) => {
  const headers = plain({ 'x-amz-content-sha256': 'b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9' })
  t.true((await drain(createPayloadStream(reads([TEXT]), undefined, headers))).result.verified.contentSha256)
  await t.throwsAsync(drain(createPayloadStream(reads([Buffer.from('hello World')]), undefined, headers)), { code: 'XAmzContentSHA256Mismatch' })
  t.throws(() => createPayloadStream(reads([TEXT]), undefined, plain({ 'x-amz-content-sha256': 'abc' })), { code: 'InvalidArgument' })
  t.throws(() => createPayloadStream(reads([TEXT]), undefined, plain({ 'x-amz-trailer': 'x-amz-checksum-crc32' })), { code: 'InvalidRequest' })
})

test('maxBytes: declared sizes fail before reading, undeclared ones as soon as they pass it', async (t) => {
  t.throws(() => createPayloadStream(reads([TEXT]), undefined, plain(), { maxBytes: 10 }), { code: 'EntityTooLarge' })
  let yielded = 0
  const stream = createPayloadStream(reads([TEXT.subarray(0, 6), TEXT.subarray(6)]), undefined, {}, { maxBytes: 10 })
  const error = await t.throwsAsync<S3Error>(async () => { for await (const part of stream.body) yielded += part.length })
  t.is(error?.code, 'EntityTooLarge')
  t.is(yielded, 6, 'nothing past the limit is handed on')
})

test('a failing source is IncompleteBody and is stopped; result() needs a fully read body', async (t) => {
  const source = new Readable({ read () {} })
  source.push(TEXT.subarray(0, 3))
  const payload = createPayloadStream(source, undefined, plain())
  t.throws(() => payload.result(), { code: 'InternalError' })
  setImmediate(() => source.destroy(new Error('ECONNRESET')))
  const error = await t.throwsAsync<S3Error>(drain(payload))
  t.is(error?.code, 'IncompleteBody')
  t.is((error?.cause as Error).message, 'ECONNRESET')
  t.true(source.destroyed)
})

test('a decoding error destroys the request stream instead of reading the rest', async (t) => {
  const source = Readable.from([Buffer.from('zz\r\n'), Buffer.alloc(10)])
  const payload = createPayloadStream(source, undefined, { 'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' })
  await t.throwsAsync(drain(payload), { code: 'InvalidRequest' })
  t.true(source.destroyed)
})

test('storedContentEncoding drops only aws-chunked', (t) => {
  t.is(storedContentEncoding({ 'content-encoding': 'aws-chunked' }), undefined)
  t.is(storedContentEncoding({ 'content-encoding': 'aws-chunked,gzip' }), 'gzip')
  t.is(storedContentEncoding({ 'content-encoding': 'gzip, AWS-Chunked, br' }), 'gzip,br')
  t.is(storedContentEncoding({}), undefined)
})
