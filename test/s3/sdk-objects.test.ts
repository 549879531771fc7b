import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import test from 'ava'
import {
  CopyObjectCommand, CreateBucketCommand, DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand,
  ListObjectsV2Command, PutObjectCommand
} from '@aws-sdk/client-s3'
import { allInOneForFile } from '../helpers/all-in-one.ts'
import { bodyBytes, bucketName, failure, newBucket } from './clients.ts'
import { md5Hex, REFERENCE_ALGORITHMS, referenceChecksum } from './reference-checksums.ts'

/** @aws-sdk/client-s3 (default checksums on) on single objects: headers, ranges, conditions, checksums, copy, multi-delete. */

const cluster = allInOneForFile(test)

const EXPIRES = new Date('2031-01-02T03:04:05Z')

test('PutObject stores the content headers and user metadata; GetObject and HeadObject return them', async (t) => {
  const { s3, bucket } = await newBucket(cluster(), 'headers')
  const body = randomBytes(70_000)
  const put = await s3.send(new PutObjectCommand({
    Bucket: bucket,
    Key: 'docs/report.pdf',
    Body: body,
    ContentType: 'application/pdf',
    CacheControl: 'max-age=3600, public',
    ContentDisposition: 'attachment; filename="report.pdf"',
    ContentEncoding: 'identity',
    ContentLanguage: 'de-CH',
    Expires: EXPIRES,
    Metadata: { color: 'blue', 'multi-word': 'two words', unicode: 'caf\u00e9' }
  }))
  t.is(put.ETag, `"${md5Hex(body)}"`)

  for (const read of [
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'docs/report.pdf' })),
    await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'docs/report.pdf' }))
  ]) {
    t.is(read.ContentType, 'application/pdf')
    t.is(read.CacheControl, 'max-age=3600, public')
    t.is(read.ContentDisposition, 'attachment; filename="report.pdf"')
    t.is(read.ContentEncoding, 'identity')
    t.is(read.ContentLanguage, 'de-CH')
    t.is(read.ExpiresString, EXPIRES.toUTCString())
    t.is(read.ContentLength, body.length)
    t.is(read.ETag, put.ETag)
    t.is(read.AcceptRanges, 'bytes')
    t.true(Math.abs(read.LastModified!.getTime() - Date.now()) < 5 * 60_000)
    t.deepEqual(read.Metadata, { color: 'blue', 'multi-word': 'two words', unicode: 'caf\u00e9' })
  }
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'docs/report.pdf' }))
  t.deepEqual(await bodyBytes(got.Body), body)
})

test('odd keys and empty objects round-trip; DeleteObject removes; missing keys are NoSuchKey / 404', async (t) => {
  const { s3, bucket } = await newBucket(cluster(), 'keys')
  const keys = ['a b+c%d', 'caf\u00e9/\u4e2d\u6587/\ud83d\ude00', 'tab\there', 'line\nbreak', 'dir//double//slash/', '~!@$&*()=:,;\'[]', 'percent%2Fencoded', '.', '..x']
  for (const [i, key] of keys.entries()) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `body ${i}` }))
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    t.is((await bodyBytes(got.Body)).toString(), `body ${i}`, JSON.stringify(key))
  }
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }))
  t.deepEqual(listed.Contents?.map((c) => c.Key).sort(), [...keys].sort())

  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'empty', Body: Buffer.alloc(0) }))
  const empty = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'empty' }))
  t.is(empty.ContentLength, 0)
  t.is(empty.ETag, '"d41d8cd98f00b204e9800998ecf8427e"')
  t.is((await bodyBytes(empty.Body)).length, 0)

  const deleted = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: keys[0] }))
  t.is(deleted.$metadata.httpStatusCode, 204)
  t.like(await failure(s3.send(new GetObjectCommand({ Bucket: bucket, Key: keys[0] }))), { name: 'NoSuchKey', status: 404 })
  t.like(await failure(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: keys[0] }))), { name: 'NotFound', status: 404 })
  t.is((await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'never-existed' }))).$metadata.httpStatusCode, 204)
  t.like(await failure(s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket-xyz', Key: 'k' }))), { name: 'NoSuchBucket', status: 404 })
})

test('keys longer than 1024 bytes are KeyTooLongError, NUL in a key InvalidArgument; nothing is stored', async (t) => {
  const { s3, bucket } = await newBucket(cluster(), 'longkey')
  const long = '\u00e9'.repeat(513)
  t.like(await failure(s3.send(new PutObjectCommand({ Bucket: bucket, Key: long, Body: 'x' }))), { name: 'KeyTooLongError', status: 400 })
  // The store refuses NUL in names; the error document must still parse (NUL has no XML form).
  t.like(await failure(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'nul\u0000key', Body: 'x' }))), { name: 'InvalidArgument', status: 400 })
  const exactly = 'k'.repeat(1024)
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: exactly, Body: 'x' }))
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }))
  t.deepEqual(listed.Contents?.map((c) => c.Key), [exactly])
})

test('single ranges: 206 with Content-Range; past the end 416 with Content-Range bytes */size', async (t) => {
  const { s3, bucket } = await newBucket(cluster(), 'range')
  const body = randomBytes(10_000)
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'r', Body: body }))
  for (const [range, from, to] of [['bytes=0-0', 0, 0], ['bytes=100-199', 100, 199], ['bytes=9990-', 9990, 9999], ['bytes=-10', 9990, 9999],
    ['bytes=9000-20000', 9000, 9999], ['bytes=-20000', 0, 9999]] as const) {
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'r', Range: range }))
    t.is(got.$metadata.httpStatusCode, 206, range)
    t.is(got.ContentRange, `bytes ${from}-${to}/10000`, range)
    t.is(got.ContentLength, to - from + 1, range)
    t.deepEqual(await bodyBytes(got.Body), body.subarray(from, to + 1), range)
  }
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'r', Range: 'bytes=5-9' }))
  t.is(head.$metadata.httpStatusCode, 206)
  t.is(head.ContentLength, 5)
  t.is(head.ContentRange, 'bytes 5-9/10000')

  for (const range of ['bytes=10000-', 'bytes=20000-20010']) {
    const refused = await failure(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'r', Range: range })))
    t.like(refused, { name: 'InvalidRange', status: 416 }, range)
    t.is(refused.headers['content-range'], 'bytes */10000', range)
  }
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'empty', Body: Buffer.alloc(0) }))
  const emptyRange = await failure(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'empty', Range: 'bytes=0-' })))
  t.like(emptyRange, { name: 'InvalidRange', status: 416 })
  t.is(emptyRange.headers['content-range'], 'bytes */0')
})

test('conditional GET and HEAD: If-Match, If-None-Match (304), If-Modified-Since, If-Unmodified-Since (412)', async (t) => {
  const { s3, bucket } = await newBucket(cluster(), 'cond')
  const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'c', Body: 'conditional' }))
  const etag = put.ETag!
  const past = new Date(Date.now() - 24 * 3600_000)
  const future = new Date(Date.now() + 24 * 3600_000)
  for (const Command of [GetObjectCommand, HeadObjectCommand]) {
    const send = async (input: Record<string, unknown>) => await s3.send(new Command({ Bucket: bucket, Key: 'c', ...input }))
    t.is((await send({ IfMatch: etag })).$metadata.httpStatusCode, 200)
    t.is((await send({ IfMatch: `"x", ${etag}` })).$metadata.httpStatusCode, 200)
    t.is((await send({ IfMatch: '*' })).$metadata.httpStatusCode, 200)
    t.like(await failure(send({ IfMatch: '"0123"' })), { status: 412 })
    const notModified = await failure(send({ IfNoneMatch: etag }))
    t.is(notModified.status, 304)
    t.is(notModified.headers.etag, etag, '304 carries the ETag')
    t.is((await send({ IfNoneMatch: '"other"' })).$metadata.httpStatusCode, 200)
    t.is((await send({ IfModifiedSince: past })).$metadata.httpStatusCode, 200)
    t.like(await failure(send({ IfModifiedSince: future })), { status: 304 })
    t.is((await send({ IfUnmodifiedSince: future })).$metadata.httpStatusCode, 200)
    t.like(await failure(send({ IfUnmodifiedSince: past })), { status: 412 })
    // If-Match wins over If-Unmodified-Since, If-None-Match over If-Modified-Since (RFC 7232, as S3 does).
    t.is((await send({ IfMatch: etag, IfUnmodifiedSince: past })).$metadata.httpStatusCode, 200)
    t.is((await send({ IfNoneMatch: '"other"', IfModifiedSince: future })).$metadata.httpStatusCode, 200)
  }
  t.like(await failure(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'c', IfMatch: '"nope"' }))), { name: 'PreconditionFailed', status: 412 })
})

test('conditional PUT: If-None-Match * refuses an existing key with 412; If-Match compares ETags', async (t) => {
  const { s3, bucket } = await newBucket(cluster(), 'condput')
  const first = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'once', Body: 'first', IfNoneMatch: '*' }))
  t.like(await failure(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'once', Body: 'second', IfNoneMatch: '*' }))), { name: 'PreconditionFailed', status: 412 })
  let got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'once' }))
  t.is((await bodyBytes(got.Body)).toString(), 'first', 'the refused write stored nothing')

  t.like(await failure(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'once', Body: 'third', IfMatch: '"00000000000000000000000000000000"' }))), { name: 'PreconditionFailed', status: 412 })
  const replaced = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'once', Body: 'fourth', IfMatch: first.ETag }))
  got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'once' }))
  t.is((await bodyBytes(got.Body)).toString(), 'fourth')
  t.is(got.ETag, replaced.ETag)
  t.like(await failure(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'absent', Body: 'x', IfMatch: first.ETag }))), { name: 'NoSuchKey', status: 404 })
  t.like(await failure(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'absent' }))), { status: 404 })
})

for (const algorithm of REFERENCE_ALGORITHMS) {
  test(`checksum ${algorithm}: sent in a header and in an aws-chunked trailer, verified, stored, returned with ChecksumMode ENABLED`, async (t) => {
    const { s3, bucket } = await newBucket(cluster(), `ck-${algorithm.toLowerCase()}`)
    const body = randomBytes(200_003)
    const expected = referenceChecksum(algorithm, body)
    const field = `Checksum${algorithm}` as const
    // A Buffer body gets the checksum in a header; a stream of unknown hash gets an aws-chunked body with a trailer.
    const bodies = [{ key: 'header', body: body as Buffer | Readable }, { key: 'trailer', body: Readable.from([body.subarray(0, 65_536), body.subarray(65_536)]) }]
    for (const { key, body: sent } of bodies) {
      const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: sent, ContentLength: body.length, ChecksumAlgorithm: algorithm }))
      t.is(put[field], expected, `${key}: PutObject echoes the checksum`)
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }))
      t.is(got[field], expected, key)
      t.deepEqual(await bodyBytes(got.Body), body, key)
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }))
      t.is(head[field], expected, key)
      const plain = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
      t.is(plain[field], undefined, 'checksums only when asked for')
    }
    const wrong = referenceChecksum(algorithm, Buffer.from('something else'))
    const refused = await failure(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'wrong', Body: body, [field]: wrong })))
    t.like(refused, { name: 'BadDigest', status: 400 })
    t.like(await failure(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'wrong' }))), { status: 404 })
  })
}

test('Content-MD5 is verified: a matching one stores, a wrong one is BadDigest and stores nothing', async (t) => {
  const { s3, bucket } = await newBucket(cluster(), 'md5')
  const body = Buffer.from('content md5 checked')
  const md5 = createHash('md5').update(body).digest('base64')
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'ok', Body: body, ContentMD5: md5 }))
  t.is((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'ok' }))).ContentLength, body.length)
  const wrong = createHash('md5').update('other').digest('base64')
  t.like(await failure(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'bad', Body: body, ContentMD5: wrong }))), { name: 'BadDigest', status: 400 })
  t.like(await failure(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'bad', Body: body, ContentMD5: 'not-md5' }))), { name: 'InvalidDigest', status: 400 })
  t.like(await failure(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'bad' }))), { status: 404 })
})

test('CopyObject: COPY keeps metadata, REPLACE takes the request\'s; odd source keys; across buckets', async (t) => {
  const { s3, bucket } = await newBucket(cluster(), 'copy')
  const other = bucketName('copy-dest')
  await s3.send(new CreateBucketCommand({ Bucket: other }))
  const body = randomBytes(300_000)
  const source = 'src dir/caf\u00e9 +%.bin'
  const put = await s3.send(new PutObjectCommand({
    Bucket: bucket, Key: source, Body: body, ContentType: 'image/png', CacheControl: 'no-cache', Metadata: { origin: 'source' }
  }))
  const copySource = `${bucket}/${encodeURIComponent(source)}`

  const copied = await s3.send(new CopyObjectCommand({ Bucket: other, Key: 'copy of it', CopySource: copySource }))
  t.is(copied.CopyObjectResult?.ETag, put.ETag)
  t.true(Math.abs(copied.CopyObjectResult!.LastModified!.getTime() - Date.now()) < 5 * 60_000)
  let got = await s3.send(new GetObjectCommand({ Bucket: other, Key: 'copy of it' }))
  t.deepEqual(await bodyBytes(got.Body), body)
  t.is(got.ContentType, 'image/png')
  t.is(got.CacheControl, 'no-cache')
  t.deepEqual(got.Metadata, { origin: 'source' })
  t.is(got.ETag, put.ETag)

  await s3.send(new CopyObjectCommand({
    Bucket: bucket, Key: 'replaced', CopySource: copySource, MetadataDirective: 'REPLACE', ContentType: 'text/plain', Metadata: { origin: 'replaced' }
  }))
  got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'replaced' }))
  t.deepEqual(await bodyBytes(got.Body), body)
  t.is(got.ContentType, 'text/plain')
  t.is(got.CacheControl, undefined)
  t.deepEqual(got.Metadata, { origin: 'replaced' })

  t.like(await failure(s3.send(new CopyObjectCommand({ Bucket: bucket, Key: source, CopySource: copySource }))), { name: 'InvalidRequest', status: 400 })
  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: source, CopySource: copySource, MetadataDirective: 'REPLACE', Metadata: { origin: 'self' } }))
  got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: source }))
  t.deepEqual(got.Metadata, { origin: 'self' })
  t.deepEqual(await bodyBytes(got.Body), body, 'copying onto itself keeps the bytes')

  t.like(await failure(s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'x', CopySource: `${bucket}/missing` }))), { name: 'NoSuchKey', status: 404 })
  t.like(await failure(s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'x', CopySource: 'no-such-bucket-abc/k' }))), { name: 'NoSuchBucket', status: 404 })
})

test('CopyObject preconditions on the source: x-amz-copy-source-if-* fail with 412 and copy nothing', async (t) => {
  const { s3, bucket } = await newBucket(cluster(), 'copycond')
  const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'src', Body: 'copy me' }))
  const past = new Date(Date.now() - 24 * 3600_000)
  const future = new Date(Date.now() + 24 * 3600_000)
  const copy = async (input: Record<string, unknown>, key: string) =>
    await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: key, CopySource: `${bucket}/src`, ...input }))
  await copy({ CopySourceIfMatch: put.ETag }, 'ok-match')
  await copy({ CopySourceIfNoneMatch: '"other"' }, 'ok-none-match')
  await copy({ CopySourceIfModifiedSince: past }, 'ok-modified')
  await copy({ CopySourceIfUnmodifiedSince: future }, 'ok-unmodified')
  const refusals: Array<[Record<string, unknown>, string]> = [
    [{ CopySourceIfMatch: '"other"' }, 'no-match'],
    [{ CopySourceIfNoneMatch: put.ETag }, 'no-none-match'],
    [{ CopySourceIfModifiedSince: future }, 'no-modified'],
    [{ CopySourceIfUnmodifiedSince: past }, 'no-unmodified']
  ]
  for (const [input, key] of refusals) {
    t.like(await failure(copy(input, key)), { name: 'PreconditionFailed', status: 412 }, key)
  }
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }))
  t.deepEqual(listed.Contents?.map((c) => c.Key), ['ok-match', 'ok-modified', 'ok-none-match', 'ok-unmodified', 'src'])
})

test('DeleteObjects: verbose lists every key, Quiet lists only errors; the keys are gone', async (t) => {
  const { s3, bucket } = await newBucket(cluster(), 'multidel')
  const keys = Array.from({ length: 30 }, (_, i) => `k/${i} \u00e9&<>`)
  await Promise.all(keys.map(async (key) => await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }))))
  const verbose = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [...keys.slice(0, 10), 'never-there'].map((Key) => ({ Key })) } }))
  t.deepEqual(verbose.Deleted?.map((d) => d.Key).sort(), [...keys.slice(0, 10), 'never-there'].sort())
  t.is(verbose.Errors, undefined)
  const quiet = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Quiet: true, Objects: keys.slice(10).map((Key) => ({ Key })) } }))
  t.is(quiet.Deleted, undefined)
  t.is(quiet.Errors, undefined)
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }))
  t.is(listed.KeyCount, 0)
  t.is(listed.Contents, undefined)

  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'kept', Body: 'kept' }))
  const mixed = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'k'.repeat(1025) }, { Key: 'kept' }] } }))
  t.deepEqual(mixed.Errors?.map((e) => [e.Key, e.Code]), [['k'.repeat(1025), 'KeyTooLongError']], 'a bad key fails alone')
  t.deepEqual(mixed.Deleted?.map((d) => d.Key), ['kept'])
  t.like(await failure(s3.send(new DeleteObjectsCommand({ Bucket: 'no-such-bucket-del', Delete: { Objects: [{ Key: 'a' }] } }))), { name: 'NoSuchBucket', status: 404 })
})
