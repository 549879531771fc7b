import { createHash, randomBytes } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import test, { type ExecutionContext } from 'ava'
import {
  CopyObjectCommand, CreateMultipartUploadCommand, GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command,
  PutObjectCommand, UploadPartCommand, type S3Client
} from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { allInOneForFile } from '../helpers/all-in-one.ts'
import { ChunkSigner } from '../gateway/auth/helpers.ts'
import { bodyBytes, failure, s3Client, newBucket } from './clients.ts'
import { elements, errorCode, send, signedSend, signRequest, type RawResponse } from './raw-request.ts'
import { referenceChecksum } from './reference-checksums.ts'

/**
 * Presigned URLs from @aws-sdk/s3-request-presigner used with plain
 * node:http, and requests no well-behaved client sends: each must get the
 * right S3 error and leave nothing stored.
 */

const cluster = allInOneForFile(test)

async function fetchUrl (url: string, method: string, body?: Buffer, headers: Record<string, string> = {}): Promise<{ status: number, headers: Record<string, string | string[] | undefined>, body: Buffer }> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers: body === undefined ? headers : { 'content-length': String(body.length), ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function absent (t: ExecutionContext, s3: S3Client, bucket: string, key: string): Promise<void> {
  t.like(await failure(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))), { status: 404 }, `${key} is not stored`)
}

test('presigned GET and PUT with node:http; response-* overrides; metadata hoisted into the URL is stored', async (t) => {
  const { s3, bucket } = await newBucket(cluster(), 'presign')
  const body = randomBytes(100_000)
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'get me', Body: body, ContentType: 'application/x-thing' }))
  const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: 'get me' }), { expiresIn: 300 })
  const got = await fetchUrl(getUrl, 'GET')
  t.is(got.status, 200)
  t.true(got.body.equals(body))
  t.is(got.headers['content-type'], 'application/x-thing')

  const overridden = await getSignedUrl(s3, new GetObjectCommand({
    Bucket: bucket, Key: 'get me', ResponseContentType: 'text/csv', ResponseContentDisposition: 'attachment; filename="x.csv"', ResponseCacheControl: 'no-cache'
  }), { expiresIn: 300 })
  const withOverrides = await fetchUrl(overridden, 'GET')
  t.is(withOverrides.headers['content-type'], 'text/csv')
  t.is(withOverrides.headers['content-disposition'], 'attachment; filename="x.csv"')
  t.is(withOverrides.headers['cache-control'], 'no-cache')

  // Presigners that bake a default checksum of the empty body into the URL only suit empty uploads (as on AWS), so uploaders turn that off.
  const uploader = s3Client(cluster(), { requestChecksumCalculation: 'WHEN_REQUIRED' })
  const putUrl = await getSignedUrl(uploader, new PutObjectCommand({ Bucket: bucket, Key: 'put via url', Metadata: { source: 'presigned' } }), { expiresIn: 300 })
  const upload = randomBytes(50_000)
  const put = await fetchUrl(putUrl, 'PUT', upload, { 'content-type': 'image/gif' })
  t.is(put.status, 200, put.body.toString())
  t.is(put.headers.etag, `"${createHash('md5').update(upload).digest('hex')}"`)
  const stored = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'put via url' }))
  t.true((await bodyBytes(stored.Body)).equals(upload))
  t.is(stored.ContentType, 'image/gif')
  t.deepEqual(stored.Metadata, { source: 'presigned' })

  // The presigner moves x-amz-copy-source into the query too: the URL is still a copy, not an empty PUT.
  const copyUrl = await getSignedUrl(uploader, new CopyObjectCommand({ Bucket: bucket, Key: 'copied via url', CopySource: `${bucket}/${encodeURIComponent('put via url')}` }), { expiresIn: 300 })
  t.regex(copyUrl, /x-amz-copy-source=/)
  const copied = await fetchUrl(copyUrl, 'PUT', Buffer.alloc(0))
  t.is(copied.status, 200, copied.body.toString())
  t.regex(copied.body.toString(), /<CopyObjectResult[ >]/)
  const copy = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'copied via url' }))
  t.true((await bodyBytes(copy.Body)).equals(upload))

  const defaultUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: 'default checksum' }), { expiresIn: 300 })
  t.regex(defaultUrl, /x-amz-checksum-crc32=AAAAAA%3D%3D/)
  const refused = await fetchUrl(defaultUrl, 'PUT', upload)
  t.is(refused.status, 400)
  t.is(/<Code>([^<]*)</.exec(refused.body.toString())?.[1], 'BadDigest')
  await absent(t, s3, bucket, 'default checksum')
  t.is((await fetchUrl(defaultUrl, 'PUT', Buffer.alloc(0))).status, 200, 'an empty upload matches the baked-in checksum')
})

test('expired or tampered presigned URLs: AccessDenied / SignatureDoesNotMatch, nothing stored', async (t) => {
  const { s3, bucket } = await newBucket(cluster(), 'presign-bad')
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'there', Body: 'secret' }))
  const uploader = s3Client(cluster(), { requestChecksumCalculation: 'WHEN_REQUIRED' })
  const longAgo = new Date(Date.now() - 3600_000)
  const expiredGet = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: 'there' }), { expiresIn: 60, signingDate: longAgo })
  const get = await fetchUrl(expiredGet, 'GET')
  t.is(get.status, 403)
  t.regex(get.body.toString(), /<Code>AccessDenied<\/Code>/)
  t.notRegex(get.body.toString(), /secret/)

  const expiredPut = await getSignedUrl(uploader, new PutObjectCommand({ Bucket: bucket, Key: 'late' }), { expiresIn: 60, signingDate: longAgo })
  const put = await fetchUrl(expiredPut, 'PUT', Buffer.from('too late'))
  t.is(put.status, 403)
  t.regex(put.body.toString(), /<Code>AccessDenied<\/Code>/)
  await absent(t, s3, bucket, 'late')

  const goodPut = await getSignedUrl(uploader, new PutObjectCommand({ Bucket: bucket, Key: 'tampered' }), { expiresIn: 60 })
  const otherKey = goodPut.replace('/tampered?', '/other-key?')
  const tampered = await fetchUrl(otherKey, 'PUT', Buffer.from('x'))
  t.is(tampered.status, 403)
  t.regex(tampered.body.toString(), /<Code>SignatureDoesNotMatch<\/Code>/)
  await absent(t, s3, bucket, 'other-key')
  const longer = await fetchUrl(goodPut.replace(/X-Amz-Expires=60/, 'X-Amz-Expires=6000'), 'PUT', Buffer.from('x'))
  t.regex(longer.body.toString(), /<Code>SignatureDoesNotMatch<\/Code>/, 'the expiry is signed')
  await absent(t, s3, bucket, 'tampered')
})

interface ChunkedPut {
  bucket: string
  key: string
  data: Buffer
  chunkSize: number
  trailer?: Array<[string, string]>
}

function framed (put: ChunkedPut, signer: ChunkSigner): Buffer {
  const parts: Buffer[] = []
  for (let i = 0; i < put.data.length; i += put.chunkSize) {
    const piece = put.data.subarray(i, i + put.chunkSize)
    parts.push(signer.header(piece), piece, Buffer.from('\r\n'))
  }
  parts.push(signer.header(Buffer.alloc(0)), signer.end(put.trailer))
  return Buffer.concat(parts)
}

/**
 * A PUT with STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER], every chunk
 * signed. `mangle` edits the framed body before it is sent; `cut` says
 * where to end it. Content-Length is signed, so the cut is decided on a dry
 * run: the framing's shape does not depend on the signatures' values.
 */
async function signedChunkedPut (put: ChunkedPut, mangle: (body: Buffer) => Buffer = (b) => b, cut?: (body: Buffer) => number): Promise<RawResponse> {
  const headers: Record<string, string> = {
    'x-amz-content-sha256': put.trailer === undefined ? 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' : 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
    'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': String(put.data.length)
  }
  if (put.trailer !== undefined) headers['x-amz-trailer'] = put.trailer.map(([name]) => name).join(',')
  const dry = framed(put, new ChunkSigner({ seedSignature: '0'.repeat(64), secretAccessKey: 'x', date: '20000101T000000Z', scope: '20000101/us-east-1/s3/aws4_request' }))
  const length = cut?.(dry) ?? dry.length
  const signed = await signRequest(cluster(), { method: 'PUT', path: `/${put.bucket}/${put.key}`, headers: { ...headers, 'content-length': String(length) } })
  const signer = new ChunkSigner({ seedSignature: signed.seedSignature, secretAccessKey: cluster().secretAccessKey, date: signed.date, scope: signed.scope })
  return await send(cluster(), signed, [mangle(framed(put, signer)).subarray(0, length)])
}

test('signed aws-chunked uploads: intact ones store; a tampered chunk signature, chunk data or trailer signature store nothing', async (t) => {
  const { s3, bucket } = await newBucket(cluster(), 'chunked')
  const data = randomBytes(200_000)
  const crc = referenceChecksum('CRC32C', data)

  const ok = await signedChunkedPut({ bucket, key: 'intact', data, chunkSize: 65_536 })
  t.is(ok.status, 200, ok.body)
  const okTrailer = await signedChunkedPut({ bucket, key: 'intact-trailer', data, chunkSize: 65_536, trailer: [['x-amz-checksum-crc32c', crc]] })
  t.is(okTrailer.status, 200, okTrailer.body)
  const withChecksum = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'intact-trailer', ChecksumMode: 'ENABLED' }))
  t.is(withChecksum.ChecksumCRC32C, crc)
  t.true((await bodyBytes(withChecksum.Body)).equals(data))

  const secondSignature = (body: Buffer): Buffer => {
    const text = body.toString('latin1')
    const at = text.indexOf('chunk-signature=', text.indexOf('chunk-signature=') + 1) + 'chunk-signature='.length
    return Buffer.from(text.slice(0, at) + (text[at] === 'a' ? 'b' : 'a') + text.slice(at + 1), 'latin1')
  }
  const badSignature = await signedChunkedPut({ bucket, key: 'bad-signature', data, chunkSize: 65_536 }, secondSignature)
  t.is(badSignature.status, 403)
  t.is(errorCode(badSignature), 'SignatureDoesNotMatch')

  const flipData = (body: Buffer): Buffer => {
    const copy = Buffer.from(body)
    copy[100_000] = copy[100_000]! ^ 1
    return copy
  }
  const badData = await signedChunkedPut({ bucket, key: 'bad-data', data, chunkSize: 65_536 }, flipData)
  t.is(badData.status, 403)
  t.is(errorCode(badData), 'SignatureDoesNotMatch')

  const badTrailerSignature = await signedChunkedPut({ bucket, key: 'bad-trailer-signature', data, chunkSize: 65_536, trailer: [['x-amz-checksum-crc32c', crc]] },
    (body) => Buffer.from(body.toString('latin1').replace(/x-amz-trailer-signature:(.)/, (_, c: string) => `x-amz-trailer-signature:${c === 'a' ? 'b' : 'a'}`), 'latin1'))
  t.is(badTrailerSignature.status, 403)
  t.is(errorCode(badTrailerSignature), 'SignatureDoesNotMatch')

  for (const key of ['bad-signature', 'bad-data', 'bad-trailer-signature']) await absent(t, s3, bucket, key)
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }))
  t.deepEqual(listed.Contents?.map((c) => c.Key), ['intact', 'intact-trailer'])
})

test('truncated aws-chunked bodies: IncompleteBody, or a dropped connection; nothing stored', async (t) => {
  const { s3, bucket } = await newBucket(cluster(), 'truncated')
  const data = randomBytes(150_000)
  const put = { bucket, data, chunkSize: 50_000 }
  const noFinalChunk = await signedChunkedPut({ ...put, key: 'no-final-chunk' }, undefined, (body) => body.toString('latin1').lastIndexOf('0;chunk-signature='))
  t.is(noFinalChunk.status, 400)
  t.is(errorCode(noFinalChunk), 'IncompleteBody')
  const midChunk = await signedChunkedPut({ ...put, key: 'mid-chunk' }, undefined, () => 70_000)
  t.is(midChunk.status, 400)
  t.is(errorCode(midChunk), 'IncompleteBody')

  const unsigned = await signRequest(cluster(), {
    method: 'PUT',
    path: `/${bucket}/unsigned-cut`,
    headers: {
      'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'content-encoding': 'aws-chunked', 'x-amz-trailer': 'x-amz-checksum-crc32',
      'x-amz-decoded-content-length': String(data.length)
    }
  })
  const framed = Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data.subarray(0, 100_000)])
  const cut = await send(cluster(), { ...unsigned, headers: { ...unsigned.headers, 'content-length': String(framed.length) } }, [framed])
  t.is(cut.status, 400)
  t.is(errorCode(cut), 'IncompleteBody')

  // The client goes away halfway through: there is no one to answer, and nothing may be stored.
  const dropped = await signRequest(cluster(), {
    method: 'PUT',
    path: `/${bucket}/dropped`,
    headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-length': String(data.length) }
  })
  await new Promise<void>((resolve) => {
    const req = httpRequest(`${cluster().endpoint}${dropped.url}`, { method: 'PUT', headers: dropped.headers, agent: false })
    req.on('error', () => resolve())
    req.on('close', () => resolve())
    req.write(data.subarray(0, 60_000), () => req.destroy())
  })
  for (const key of ['no-final-chunk', 'mid-chunk', 'unsigned-cut', 'dropped']) await absent(t, s3, bucket, key)
  t.is((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).KeyCount, 0)
})

test('wrong checksums: trailer, header and signed sha256 mismatches are refused and store nothing', async (t) => {
  const { s3, bucket } = await newBucket(cluster(), 'checksums')
  const data = randomBytes(80_000)
  const wrongCrc = referenceChecksum('CRC32', Buffer.from('other'))
  const unsignedTrailer = async (key: string, value: string): Promise<RawResponse> => {
    const signed = await signRequest(cluster(), {
      method: 'PUT',
      path: `/${bucket}/${key}`,
      headers: {
        'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'content-encoding': 'aws-chunked', 'x-amz-trailer': 'x-amz-checksum-crc32',
        'x-amz-decoded-content-length': String(data.length)
      }
    })
    const body = Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from(`\r\n0\r\nx-amz-checksum-crc32:${value}\r\n\r\n`)])
    return await send(cluster(), { ...signed, headers: { ...signed.headers, 'content-length': String(body.length) } }, [body])
  }
  t.is((await unsignedTrailer('right-trailer', referenceChecksum('CRC32', data))).status, 200)
  const wrongTrailer = await unsignedTrailer('wrong-trailer', wrongCrc)
  t.is(wrongTrailer.status, 400)
  t.is(errorCode(wrongTrailer), 'BadDigest')
  const garbledTrailer = await unsignedTrailer('garbled-trailer', 'not base64!')
  t.is(garbledTrailer.status, 400)
  t.is(errorCode(garbledTrailer), 'InvalidRequest')

  const wrongHeader = await signedSend(cluster(), { method: 'PUT', path: `/${bucket}/wrong-header`, body: data, headers: { 'x-amz-checksum-sha256': referenceChecksum('SHA256', Buffer.from('x')) } })
  t.is(wrongHeader.status, 400)
  t.is(errorCode(wrongHeader), 'BadDigest')

  const signed = await signRequest(cluster(), { method: 'PUT', path: `/${bucket}/wrong-sha256`, body: data })
  const other = Buffer.from(data)
  other[5] = other[5]! ^ 1
  const wrongSha = await send(cluster(), signed, [other])
  t.is(wrongSha.status, 400)
  t.is(errorCode(wrongSha), 'XAmzContentSHA256Mismatch')

  for (const key of ['wrong-trailer', 'garbled-trailer', 'wrong-header', 'wrong-sha256']) await absent(t, s3, bucket, key)
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }))
  t.deepEqual(listed.Contents?.map((c) => c.Key), ['right-trailer'])
})

test('malformed XML on CompleteMultipartUpload and DeleteObjects is MalformedXML and changes nothing', async (t) => {
  const { s3, bucket } = await newBucket(cluster(), 'xml')
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'keep', Body: 'kept' }))
  const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'assembled' }))
  const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'assembled', UploadId: created.UploadId, PartNumber: 1, Body: 'part' }))
  const documents = [
    'not xml at all',
    '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>',
    '<Wrong><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></Wrong>',
    '<CompleteMultipartUpload></CompleteMultipartUpload>',
    `<CompleteMultipartUpload><Part><PartNumber>one</PartNumber><ETag>${part.ETag}</ETag></Part></CompleteMultipartUpload>`,
    '<Delete><Object><Key>keep</Key></Object></Delete>'
  ]
  for (const document of documents) {
    const response = await signedSend(cluster(), { method: 'POST', path: `/${bucket}/assembled`, query: { uploadId: created.UploadId! }, body: Buffer.from(document) })
    t.is(response.status, 400, document)
    t.is(errorCode(response), 'MalformedXML', document)
  }
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))
  t.deepEqual(uploads.Uploads?.map((u) => u.UploadId), [created.UploadId], 'the upload is still in progress')
  await absent(t, s3, bucket, 'assembled')

  const deletes = [
    '<Delete><Object><Key>keep</Key></Object>',
    '<Delete></Delete>',
    '<Delete><Object><Key></Key></Object></Delete>',
    '<NotDelete><Object><Key>keep</Key></Object></NotDelete>',
    '{"Objects":[{"Key":"keep"}]}'
  ]
  for (const document of deletes) {
    const body = Buffer.from(document)
    const response = await signedSend(cluster(), {
      method: 'POST', path: `/${bucket}`, query: { delete: '' }, body, headers: { 'content-md5': createHash('md5').update(body).digest('base64') }
    })
    t.is(response.status, 400, document)
    t.is(errorCode(response), 'MalformedXML', document)
  }
  const kept = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'keep' }))
  t.is((await bodyBytes(kept.Body)).toString(), 'kept')
})

test('keys over 1024 bytes are KeyTooLongError on PUT, multipart and copy; nothing stored', async (t) => {
  const { s3, bucket } = await newBucket(cluster(), 'longkeys')
  const long = encodeURIComponent('\u4e2d'.repeat(342))
  for (const request of [
    { method: 'PUT', path: `/${bucket}/${long}`, body: Buffer.from('x') },
    { method: 'POST', path: `/${bucket}/${long}`, query: { uploads: '' } },
    { method: 'PUT', path: `/${bucket}/${long}`, headers: { 'x-amz-copy-source': `/${bucket}/src` } }
  ]) {
    const response = await signedSend(cluster(), request)
    t.is(response.status, 400, request.method)
    t.is(errorCode(response), 'KeyTooLongError')
    t.deepEqual(elements(response.body, 'MaxSizeAllowed'), ['1024'])
  }
  t.is((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).KeyCount, 0)
  t.is((await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads, undefined)
})
