import { createHash, randomBytes } from 'node:crypto'
import test from 'ava'
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand,
  DeleteBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command,
  ListPartsCommand, PutObjectCommand, UploadPartCommand, UploadPartCopyCommand, type ListMultipartUploadsCommandOutput, type S3Client
} from '@aws-sdk/client-s3'
import { allInOneForFile } from '../helpers/all-in-one.ts'
import { bodyBytes, failure, newBucket } from './clients.ts'
import { md5Hex, multipartEtag, referenceChecksum } from './reference-checksums.ts'
import { segmentNames } from './segments.ts'

/** Multipart uploads through @aws-sdk/client-s3: the whole life of an upload, its errors, and the parts left behind (none). */

const cluster = allInOneForFile(test)
const MiB = 1024 * 1024

async function upload (s3: S3Client, bucket: string, key: string, parts: Map<number, Buffer>): Promise<{ uploadId: string, etags: Map<number, string> }> {
  const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }))
  const uploadId = created.UploadId!
  const etags = new Map<number, string>()
  for (const [n, body] of parts) {
    const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: n, Body: body }))
    etags.set(n, part.ETag!)
  }
  return { uploadId, etags }
}

test('Create, UploadPart, ListParts, ListMultipartUploads, Complete: bytes, md5-of-md5s ETag, metadata; unused parts removed', async (t) => {
  const { s3, bucket } = await newBucket(cluster(), 'mpu')
  const key = 'big file \u00e9.bin'
  const parts = new Map([[1, randomBytes(5 * MiB)], [2, randomBytes(5 * MiB + 17)], [3, randomBytes(1000)], [5, randomBytes(123_457)]])
  const created = await s3.send(new CreateMultipartUploadCommand({
    Bucket: bucket, Key: key, ContentType: 'video/mp4', CacheControl: 'no-store', Metadata: { camera: 'front' }
  }))
  t.is(created.Bucket, bucket)
  t.is(created.Key, key)
  const uploadId = created.UploadId!
  const etags = new Map<number, string>()
  for (const [n, body] of parts) {
    const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: n, Body: body }))
    t.is(part.ETag, `"${md5Hex(body)}"`)
    etags.set(n, part.ETag!)
  }

  const listed = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
  t.deepEqual(listed.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag]), [...parts].map(([n, body]) => [n, body.length, etags.get(n)]))
  t.is(listed.IsTruncated, false)
  t.is(listed.UploadId, uploadId)
  const firstPage = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MaxParts: 2 }))
  t.deepEqual(firstPage.Parts?.map((p) => p.PartNumber), [1, 2])
  t.is(firstPage.IsTruncated, true)
  t.is(firstPage.NextPartNumberMarker, '2')
  const secondPage = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MaxParts: 2, PartNumberMarker: '2' }))
  t.deepEqual(secondPage.Parts?.map((p) => p.PartNumber), [3, 5])

  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))
  t.deepEqual(uploads.Uploads?.map((u) => [u.Key, u.UploadId]), [[key, uploadId]])
  t.like(await failure(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))), { status: 404 }, 'nothing visible before Complete')

  // Part 3 is uploaded but left out of the object.
  const used = [1, 2, 5]
  const completed = await s3.send(new CompleteMultipartUploadCommand({
    Bucket: bucket, Key: key, UploadId: uploadId,
    MultipartUpload: { Parts: used.map((n) => ({ PartNumber: n, ETag: etags.get(n) })) }
  }))
  const body = Buffer.concat(used.map((n) => parts.get(n)!))
  const etag = `"${multipartEtag(used.map((n) => parts.get(n)!))}"`
  t.is(completed.ETag, etag)
  t.is(completed.Key, key)
  t.is(completed.Bucket, bucket)

  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
  t.is(got.ETag, etag)
  t.is(got.ContentLength, body.length)
  t.is(got.ContentType, 'video/mp4')
  t.is(got.CacheControl, 'no-store')
  t.deepEqual(got.Metadata, { camera: 'front' })
  t.true((await bodyBytes(got.Body)).equals(body))
  const across = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${5 * MiB - 10}-${5 * MiB + 9}` }))
  t.deepEqual(await bodyBytes(across.Body), body.subarray(5 * MiB - 10, 5 * MiB + 10), 'a range across a part boundary')
  const tail = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: 'bytes=-50' }))
  t.is(tail.ContentRange, `bytes ${body.length - 50}-${body.length - 1}/${body.length}`)
  t.deepEqual(await bodyBytes(tail.Body), body.subarray(-50))
  const listing = await s3.send(new ListObjectsV2Command({ Bucket: bucket }))
  t.deepEqual(listing.Contents?.map((c) => [c.Key, c.Size, c.ETag]), [[key, body.length, etag]])

  t.like(await failure(s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))), { name: 'NoSuchUpload', status: 404 })
  t.is((await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads, undefined)
  t.is((await segmentNames(cluster(), bucket)).length, 3, 'the unused part is gone, the three used remain')

  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))
  t.deepEqual(await segmentNames(cluster(), bucket), [], 'deleting the object removes its parts')
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }))
})

test('Complete refuses InvalidPart, InvalidPartOrder, EntityTooSmall; the upload stays usable', async (t) => {
  const { s3, bucket } = await newBucket(cluster(), 'mpu-errors')
  const parts = new Map([[1, randomBytes(5 * MiB)], [2, randomBytes(1000)], [3, randomBytes(2000)]])
  const { uploadId, etags } = await upload(s3, bucket, 'k', parts)
  const complete = async (list: Array<{ PartNumber: number, ETag?: string }>) =>
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'k', UploadId: uploadId, MultipartUpload: { Parts: list } }))

  t.like(await failure(complete([{ PartNumber: 1, ETag: etags.get(1) }, { PartNumber: 2, ETag: `"${md5Hex(Buffer.from('x'))}"` }])), { name: 'InvalidPart', status: 400 })
  t.like(await failure(complete([{ PartNumber: 1, ETag: etags.get(1) }, { PartNumber: 4, ETag: etags.get(3) }])), { name: 'InvalidPart', status: 400 })
  t.like(await failure(complete([{ PartNumber: 2, ETag: etags.get(2) }, { PartNumber: 1, ETag: etags.get(1) }])), { name: 'InvalidPartOrder', status: 400 })
  t.like(await failure(complete([{ PartNumber: 1, ETag: etags.get(1) }, { PartNumber: 1, ETag: etags.get(1) }])), { name: 'InvalidPartOrder', status: 400 })
  t.like(await failure(complete([{ PartNumber: 2, ETag: etags.get(2) }, { PartNumber: 3, ETag: etags.get(3) }])), { name: 'EntityTooSmall', status: 400 })
  t.like(await failure(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k' }))), { status: 404 }, 'no object from a refused Complete')
  t.is((await s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'k', UploadId: uploadId }))).Parts?.length, 3)

  const done = await complete([{ PartNumber: 1, ETag: etags.get(1) }, { PartNumber: 3, ETag: etags.get(3) }])
  t.is(done.ETag, `"${multipartEtag([parts.get(1)!, parts.get(3)!])}"`)
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }))
  t.true((await bodyBytes(got.Body)).equals(Buffer.concat([parts.get(1)!, parts.get(3)!])))

  const bogus = '0123456789abcdef0123456789abcdef'
  t.like(await failure(s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'k', UploadId: bogus, PartNumber: 1, Body: 'x' }))), { name: 'NoSuchUpload', status: 404 })
  t.like(await failure(complete([{ PartNumber: 1, ETag: etags.get(1) }])), { name: 'NoSuchUpload', status: 404 }, 'a completed upload is gone')
  t.like(await failure(s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'k', UploadId: bogus }))), { name: 'NoSuchUpload', status: 404 })
  t.like(await failure(s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'k', UploadId: uploadId, PartNumber: 0, Body: 'x' }))), { status: 400 })

  // Upload records carry the key plus the upload id under the store's 1024-byte name limit.
  const longest = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'k'.repeat(991) }))
  t.truthy(longest.UploadId)
  t.like(await failure(s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'k'.repeat(992) }))), { name: 'KeyTooLongError', status: 400 })
})

test('AbortMultipartUpload: ListParts says NoSuchUpload, the parts are gone from the ring', async (t) => {
  const { s3, bucket } = await newBucket(cluster(), 'mpu-abort')
  const { uploadId } = await upload(s3, bucket, 'aborted', new Map([[1, randomBytes(5 * MiB)], [2, randomBytes(100)]]))
  const other = await upload(s3, bucket, 'kept', new Map([[1, randomBytes(10)]]))
  t.is((await segmentNames(cluster(), bucket)).length, 3)
  t.like(await failure(s3.send(new DeleteBucketCommand({ Bucket: bucket }))), { name: 'BucketNotEmpty', status: 409 }, 'uploads in progress keep the bucket')

  const aborted = await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'aborted', UploadId: uploadId }))
  t.is(aborted.$metadata.httpStatusCode, 204)
  t.like(await failure(s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'aborted', UploadId: uploadId }))), { name: 'NoSuchUpload', status: 404 })
  t.like(await failure(s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'aborted', UploadId: uploadId, PartNumber: 3, Body: 'late' }))), { name: 'NoSuchUpload' })
  t.deepEqual(await segmentNames(cluster(), bucket), [`${other.uploadId}/00001`], 'only the other upload\'s part is left')
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))
  t.deepEqual(uploads.Uploads?.map((u) => u.Key), ['kept'])
  t.like(await failure(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'aborted' }))), { status: 404 })

  await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'kept', UploadId: other.uploadId }))
  t.deepEqual(await segmentNames(cluster(), bucket), [])
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }))
})

test('UploadPartCopy with ranges, from a plain and from a multipart source', async (t) => {
  const { s3, bucket } = await newBucket(cluster(), 'mpu-copy')
  const source = randomBytes(11 * MiB)
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'source object', Body: source }))
  const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'assembled' }))
  const uploadId = created.UploadId!
  const ranges: Array<[number, number]> = [[0, 5 * MiB - 1], [6 * MiB, 11 * MiB - 1]]
  const etags: string[] = []
  for (const [i, [from, to]] of ranges.entries()) {
    const copied = await s3.send(new UploadPartCopyCommand({
      Bucket: bucket, Key: 'assembled', UploadId: uploadId, PartNumber: i + 1, CopySource: `${bucket}/${encodeURIComponent('source object')}`,
      CopySourceRange: `bytes=${from}-${to}`
    }))
    t.is(copied.CopyPartResult?.ETag, `"${md5Hex(source.subarray(from, to + 1))}"`)
    etags.push(copied.CopyPartResult!.ETag!)
  }
  const last = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'assembled', UploadId: uploadId, PartNumber: 3, Body: 'tail' }))
  etags.push(last.ETag!)
  t.like(await failure(s3.send(new UploadPartCopyCommand({
    Bucket: bucket, Key: 'assembled', UploadId: uploadId, PartNumber: 4, CopySource: `${bucket}/${encodeURIComponent('source object')}`,
    CopySourceRange: `bytes=${11 * MiB}-${12 * MiB}`
  }))), { status: 416 }, 'a range past the source is refused')
  const done = await s3.send(new CompleteMultipartUploadCommand({
    Bucket: bucket, Key: 'assembled', UploadId: uploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })) }
  }))
  const expected = Buffer.concat([...ranges.map(([from, to]) => source.subarray(from, to + 1)), Buffer.from('tail')])
  t.is(done.ETag, `"${multipartEtag([...ranges.map(([from, to]) => source.subarray(from, to + 1)), Buffer.from('tail')])}"`)
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'assembled' }))
  t.true((await bodyBytes(got.Body)).equals(expected))

  // A part copied out of the multipart object just assembled, across its part boundary.
  const second = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'second' }))
  const copied = await s3.send(new UploadPartCopyCommand({
    Bucket: bucket, Key: 'second', UploadId: second.UploadId, PartNumber: 1, CopySource: `${bucket}/assembled`, CopySourceRange: `bytes=${5 * MiB - 3}-${5 * MiB + 2}`
  }))
  await s3.send(new CompleteMultipartUploadCommand({
    Bucket: bucket, Key: 'second', UploadId: second.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: copied.CopyPartResult!.ETag }] }
  }))
  const small = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'second' }))
  t.deepEqual(await bodyBytes(small.Body), expected.subarray(5 * MiB - 3, 5 * MiB + 3))

  const whole = await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy of assembled', CopySource: `${bucket}/assembled` }))
  t.is(whole.CopyObjectResult?.ETag, done.ETag)
  const copy = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'copy of assembled' }))
  t.true((await bodyBytes(copy.Body)).equals(expected))
})

test('overwriting or deleting a multipart object removes its parts', async (t) => {
  const { s3, bucket } = await newBucket(cluster(), 'mpu-overwrite')
  const complete = async (key: string): Promise<void> => {
    const { uploadId, etags } = await upload(s3, bucket, key, new Map([[1, randomBytes(5 * MiB)], [2, randomBytes(10)]]))
    await s3.send(new CompleteMultipartUploadCommand({
      Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: [...etags].map(([PartNumber, ETag]) => ({ PartNumber, ETag })) }
    }))
  }
  await complete('by-multipart')
  await complete('by-multipart')
  t.is((await segmentNames(cluster(), bucket)).length, 2, 'a new multipart object replaces the old one\'s parts')
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'by-multipart', Body: 'plain now' }))
  t.deepEqual(await segmentNames(cluster(), bucket), [], 'a plain PUT over a multipart object removes its parts')
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'by-multipart' }))
  t.is((await bodyBytes(got.Body)).toString(), 'plain now')

  await complete('by-copy')
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'small', Body: 'small' }))
  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'by-copy', CopySource: `${bucket}/small` }))
  t.deepEqual(await segmentNames(cluster(), bucket), [], 'a copy over a multipart object removes its parts')
  t.is(createHash('md5').update('small').digest('hex'), (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'by-copy' }))).ETag!.slice(1, -1))
})

test('multipart with ChecksumAlgorithm (as the CLIs and SDK upload helpers do by default): part checksums verified and echoed', async (t) => {
  const { s3, bucket } = await newBucket(cluster(), 'mpu-checksum')
  const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'k', ChecksumAlgorithm: 'CRC32C' }))
  t.is(created.ChecksumAlgorithm, 'CRC32C')
  const parts = [randomBytes(5 * MiB), randomBytes(777)]
  const uploaded = []
  for (const [i, body] of parts.entries()) {
    const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'k', UploadId: created.UploadId, PartNumber: i + 1, Body: body, ChecksumAlgorithm: 'CRC32C' }))
    t.is(part.ChecksumCRC32C, referenceChecksum('CRC32C', body))
    uploaded.push({ PartNumber: i + 1, ETag: part.ETag, ChecksumCRC32C: part.ChecksumCRC32C })
  }
  const wrong = await failure(s3.send(new UploadPartCommand({
    Bucket: bucket, Key: 'k', UploadId: created.UploadId, PartNumber: 3, Body: parts[1], ChecksumCRC32C: referenceChecksum('CRC32C', Buffer.from('x'))
  })))
  t.like(wrong, { name: 'BadDigest', status: 400 })
  t.deepEqual((await s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'k', UploadId: created.UploadId }))).Parts?.map((p) => p.PartNumber), [1, 2])
  const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'k', UploadId: created.UploadId, MultipartUpload: { Parts: uploaded } }))
  t.is(done.ETag, `"${multipartEtag(parts)}"`)
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k', ChecksumMode: 'ENABLED' }))
  t.true((await bodyBytes(got.Body)).equals(Buffer.concat(parts)))
})

test('ListMultipartUploads: prefix, delimiter, and paging by key and upload id markers', async (t) => {
  const { s3, bucket } = await newBucket(cluster(), 'mpu-list')
  const keys = ['a', 'a', 'a/b', 'dir/x', 'dir/y', 'z \u00e9']
  const uploads: Array<[string, string]> = []
  for (const key of keys) uploads.push([key, (await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }))).UploadId!])
  const expected = [...uploads].sort(([ka, ia], [kb, ib]) => Buffer.compare(Buffer.from(ka), Buffer.from(kb)) || (ia < ib ? -1 : 1))
  const seen: Array<[string, string]> = []
  let keyMarker: string | undefined
  let uploadIdMarker: string | undefined
  for (let pages = 0; pages < 20; pages++) {
    const page = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, MaxUploads: 2, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }))
    t.true((page.Uploads?.length ?? 0) <= 2)
    seen.push(...(page.Uploads ?? []).map((u): [string, string] => [u.Key!, u.UploadId!]))
    if (page.IsTruncated !== true) break
    keyMarker = page.NextKeyMarker
    uploadIdMarker = page.NextUploadIdMarker
  }
  t.deepEqual(seen, expected)

  const afterKey = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, KeyMarker: 'a' }))
  t.deepEqual(afterKey.Uploads?.map((u) => u.Key), ['a/b', 'dir/x', 'dir/y', 'z \u00e9'], 'a key marker alone skips every upload of that key')
  const rolled = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Delimiter: '/' }))
  t.deepEqual(rolled.Uploads?.map((u) => u.Key), ['a', 'a', 'z \u00e9'])
  t.deepEqual(rolled.CommonPrefixes?.map((p) => p.Prefix), ['a/', 'dir/'])
  const prefixed = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'dir/' }))
  t.deepEqual(prefixed.Uploads?.map((u) => u.Key), ['dir/x', 'dir/y'])

  // One item a page, uploads and common prefixes mixed: each exactly once.
  const items: string[] = []
  keyMarker = undefined
  uploadIdMarker = undefined
  for (let pages = 0; pages < 20; pages++) {
    const page: ListMultipartUploadsCommandOutput = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, MaxUploads: 1, Delimiter: '/', KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }))
    items.push(...(page.Uploads ?? []).map((u) => u.Key!), ...(page.CommonPrefixes ?? []).map((p) => `prefix ${p.Prefix!}`))
    if (page.IsTruncated !== true) break
    keyMarker = page.NextKeyMarker
    uploadIdMarker = page.NextUploadIdMarker
  }
  t.deepEqual(items, ['a', 'a', 'prefix a/', 'prefix dir/', 'z \u00e9'])

  const encoded = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, EncodingType: 'url', Prefix: 'z ' }))
  t.is(encoded.EncodingType, 'url')
  t.deepEqual(encoded.Uploads?.map((u) => u.Key), [encodeURIComponent('z \u00e9')])
  t.is(decodeURIComponent(encoded.Prefix!), 'z ')
})

test('CompleteMultipartUpload honours If-None-Match * and If-Match, like PutObject', async (t) => {
  const { s3, bucket } = await newBucket(cluster(), 'mpu-cond')
  const completeOnce = async (key: string, conditions: { IfNoneMatch?: string, IfMatch?: string }) => {
    const { uploadId, etags } = await upload(s3, bucket, key, new Map([[1, randomBytes(100)]]))
    const parts = { Parts: [{ PartNumber: 1, ETag: etags.get(1) }] }
    return { uploadId, complete: async () => await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: parts, ...conditions })) }
  }
  const first = await completeOnce('k', { IfNoneMatch: '*' })
  const created = await first.complete()
  const second = await completeOnce('k', { IfNoneMatch: '*' })
  t.like(await failure(second.complete()), { name: 'PreconditionFailed', status: 412 })
  t.is((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k' }))).ETag, created.ETag, 'the object is unchanged')
  t.is((await s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'k', UploadId: second.uploadId }))).Parts?.length, 1, 'the refused upload can still be completed or aborted')
  const wrongMatch = await completeOnce('k', { IfMatch: '"00000000000000000000000000000000-1"' })
  t.like(await failure(wrongMatch.complete()), { name: 'PreconditionFailed', status: 412 })
  const rightMatch = await completeOnce('k', { IfMatch: created.ETag })
  t.not((await rightMatch.complete()).ETag, undefined)
  const missing = await completeOnce('missing', { IfMatch: created.ETag })
  t.like(await failure(missing.complete()), { name: 'NoSuchKey', status: 404 })
})

test('GetObject and HeadObject with PartNumber: one part of a multipart object and the part count; part 1 of a plain object is all of it', async (t) => {
  const { s3, bucket } = await newBucket(cluster(), 'mpu-partnumber')
  const parts = [randomBytes(5 * MiB), randomBytes(5 * MiB + 3), randomBytes(99)]
  const { uploadId, etags } = await upload(s3, bucket, 'mp', new Map(parts.map((body, i) => [i + 1, body])))
  const done = await s3.send(new CompleteMultipartUploadCommand({
    Bucket: bucket, Key: 'mp', UploadId: uploadId, MultipartUpload: { Parts: [...etags].map(([PartNumber, ETag]) => ({ PartNumber, ETag })) }
  }))
  let offset = 0
  for (const [i, body] of parts.entries()) {
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'mp', PartNumber: i + 1 }))
    t.is(got.$metadata.httpStatusCode, 206)
    t.is(got.PartsCount, 3)
    t.is(got.ETag, done.ETag, 'the whole object\'s ETag')
    t.is(got.ContentRange, `bytes ${offset}-${offset + body.length - 1}/${10 * MiB + 3 + 99}`)
    t.true((await bodyBytes(got.Body)).equals(body), `part ${i + 1}`)
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'mp', PartNumber: i + 1 }))
    t.is(head.ContentLength, body.length)
    t.is(head.PartsCount, 3)
    offset += body.length
  }
  t.like(await failure(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'mp', PartNumber: 4 }))), { name: 'InvalidPartNumber', status: 416 })
  t.like(await failure(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'mp', PartNumber: 1, Range: 'bytes=0-1' }))), { name: 'InvalidRequest', status: 400 })

  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'plain', Body: 'plain body' }))
  const whole = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'plain', PartNumber: 1 }))
  t.is((await bodyBytes(whole.Body)).toString(), 'plain body')
  t.is(whole.PartsCount, undefined)
  t.like(await failure(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'plain', PartNumber: 2 }))), { status: 416 })
})
