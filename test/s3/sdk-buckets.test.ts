import { Agent } from 'node:http'
import type { LookupAddress } from 'node:dns'
import test from 'ava'
import {
  CreateBucketCommand, CreateMultipartUploadCommand, DeleteBucketCommand, DeleteObjectCommand, GetBucketAclCommand, GetBucketLocationCommand, GetObjectCommand,
  GetObjectTaggingCommand, HeadBucketCommand, HeadObjectCommand, ListBucketsCommand, ListObjectsV2Command, ListPartsCommand, PutObjectCommand,
  UploadPartCommand, type S3Client
} from '@aws-sdk/client-s3'
import { allInOneForFile } from '../helpers/all-in-one.ts'
import { bodyBytes, bucketName, failure, s3Client } from './clients.ts'
import { errorCode, send, signedSend } from './raw-request.ts'

/** @aws-sdk/client-s3 on buckets, addressing, auth failures and request ids. */

const BASE_DOMAIN = 's3.ringstack.test'
const cluster = allInOneForFile(test, { baseDomain: BASE_DOMAIN })
const REQUEST_ID = /^[0-9A-F]{16}$/

test('CreateBucket, HeadBucket, ListBuckets, GetBucketLocation, DeleteBucket', async (t) => {
  const s3 = s3Client(cluster())
  const bucket = bucketName('life')
  const created = await s3.send(new CreateBucketCommand({ Bucket: bucket }))
  t.is(created.Location, `/${bucket}`)
  t.regex(created.$metadata.requestId ?? '', REQUEST_ID)

  const head = await s3.send(new HeadBucketCommand({ Bucket: bucket }))
  t.is(head.$metadata.httpStatusCode, 200)
  t.is(head.BucketRegion, 'us-east-1')

  const listed = await s3.send(new ListBucketsCommand({}))
  const mine = listed.Buckets?.find((b) => b.Name === bucket)
  t.truthy(mine)
  t.true(Math.abs(mine!.CreationDate!.getTime() - Date.now()) < 5 * 60_000, 'CreationDate is when it was made')
  t.truthy(listed.Owner?.ID)
  t.false(listed.Buckets!.some((b) => b.Name!.includes('+')), 'no companion container shows as a bucket')

  const location = await s3.send(new GetBucketLocationCommand({ Bucket: bucket }))
  t.falsy(location.LocationConstraint, 'us-east-1 is the empty constraint')

  t.like(await failure(s3.send(new CreateBucketCommand({ Bucket: bucket }))), { name: 'BucketAlreadyOwnedByYou', status: 409 })
  const elsewhere = bucketName('elsewhere')
  t.like(await failure(s3.send(new CreateBucketCommand({ Bucket: elsewhere, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }))),
    { name: 'IllegalLocationConstraintException', status: 400 })
  t.like(await failure(s3.send(new HeadBucketCommand({ Bucket: elsewhere }))), { status: 404 })

  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'x', Body: 'x' }))
  t.like(await failure(s3.send(new DeleteBucketCommand({ Bucket: bucket }))), { name: 'BucketNotEmpty', status: 409 })
  t.is((await s3.send(new HeadBucketCommand({ Bucket: bucket }))).$metadata.httpStatusCode, 200, 'still there')

  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'x' }))
  const deleted = await s3.send(new DeleteBucketCommand({ Bucket: bucket }))
  t.is(deleted.$metadata.httpStatusCode, 204)
  t.like(await failure(s3.send(new HeadBucketCommand({ Bucket: bucket }))), { name: 'NotFound', status: 404 })
  t.like(await failure(s3.send(new ListObjectsV2Command({ Bucket: bucket }))), { name: 'NoSuchBucket', status: 404 })
  t.like(await failure(s3.send(new DeleteBucketCommand({ Bucket: bucket }))), { name: 'NoSuchBucket', status: 404 })
  t.false((await s3.send(new ListBucketsCommand({}))).Buckets?.some((b) => b.Name === bucket) ?? false)
})

test('ListBuckets pages with MaxBuckets and a continuation token: every bucket once, never more than asked', async (t) => {
  const s3 = s3Client(cluster())
  const prefix = bucketName('pages')
  const names = Array.from({ length: 7 }, (_, i) => `${prefix}-${i}`)
  for (const [i, name] of names.entries()) {
    await s3.send(new CreateBucketCommand({ Bucket: name }))
    // Buckets with multipart uploads have hidden companions that sort right after them.
    if (i % 3 === 0) await s3.send(new CreateMultipartUploadCommand({ Bucket: name, Key: 'k' }))
  }
  const seen: string[] = []
  let token: string | undefined
  let pages = 0
  do {
    const page = await s3.send(new ListBucketsCommand({ Prefix: prefix, MaxBuckets: 3, ContinuationToken: token }))
    t.true((page.Buckets?.length ?? 0) <= 3, `page ${pages}`)
    seen.push(...(page.Buckets ?? []).map((b) => b.Name!))
    token = page.ContinuationToken
    pages++
  } while (token !== undefined && pages < 20)
  t.deepEqual(seen, names)
  t.is(pages, 3)
})

test('CreateBucket refuses names that break the naming rules, and creates nothing', async (t) => {
  const s3 = s3Client(cluster())
  const invalid = ['ab', 'a'.repeat(64), 'Upper-case', 'under_score', '-leading', 'trailing-', 'two..dots', '192.168.1.10',
    'xn--punycode', 'sthree-x', 'name-s3alias']
  for (const name of invalid) {
    // The SDK refuses some names itself; a raw request shows what the gateway says to every one.
    const response = await signedSend(cluster(), { method: 'PUT', path: `/${encodeURIComponent(name)}` })
    t.is(response.status, 400, name)
    t.is(errorCode(response), 'InvalidBucketName', name)
  }
  const listed = await s3.send(new ListBucketsCommand({}))
  t.false(listed.Buckets?.some((b) => invalid.includes(b.Name!)) ?? false)
  t.like(await failure(s3.send(new CreateBucketCommand({ Bucket: 'under_score' }))), { status: 400 })
})

test('a multipart upload\'s companion containers are no buckets: NoSuchBucket for every way in', async (t) => {
  const s3 = s3Client(cluster())
  const bucket = bucketName('hidden')
  await s3.send(new CreateBucketCommand({ Bucket: bucket }))
  const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'k' }))
  await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'k', UploadId: upload.UploadId, PartNumber: 1, Body: 'part' }))
  for (const companion of [`${bucket}+segments`, `${bucket}+uploads`]) {
    const path = `/${encodeURIComponent(companion)}`
    for (const request of [
      { method: 'GET', path, query: { 'list-type': '2' } },
      { method: 'PUT', path: `${path}/x`, body: Buffer.from('x') },
      { method: 'DELETE', path },
      { method: 'GET', path: `${path}/${upload.UploadId!}/00001` },
      { method: 'PUT', path: `/${bucket}/copied`, headers: { 'x-amz-copy-source': `${companion}/${upload.UploadId!}/00001` } }
    ]) {
      const response = await signedSend(cluster(), request)
      t.is(response.status, 404, `${request.method} ${request.path}`)
      t.is(errorCode(response), 'NoSuchBucket', `${request.method} ${request.path}`)
      t.regex(response.body, /<Message>The specified bucket does not exist<\/Message>/)
    }
  }
  t.deepEqual((await s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'k', UploadId: upload.UploadId }))).Parts?.map((p) => p.Size), [4])
  const missing = await signedSend(cluster(), { method: 'GET', path: '/no-such-bucket-at-all', query: { 'list-type': '2' } })
  t.regex(missing.body, /<Message>The specified bucket does not exist<\/Message>/, 'S3\'s words, not the storage layer\'s')
})

test('wrong secret is SignatureDoesNotMatch, unknown key InvalidAccessKeyId; nothing is stored', async (t) => {
  const good = s3Client(cluster())
  const bucket = bucketName('auth')
  await good.send(new CreateBucketCommand({ Bucket: bucket }))
  const wrongSecret = s3Client(cluster(), { credentials: { accessKeyId: cluster().accessKeyId, secretAccessKey: 'not-the-secret' } })
  t.like(await failure(wrongSecret.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'data' }))), { name: 'SignatureDoesNotMatch', status: 403 })
  const unknown = s3Client(cluster(), { credentials: { accessKeyId: 'AKIDUNKNOWN0000', secretAccessKey: 'whatever' } })
  t.like(await failure(unknown.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'data' }))), { name: 'InvalidAccessKeyId', status: 403 })
  t.like(await failure(unknown.send(new ListBucketsCommand({}))), { name: 'InvalidAccessKeyId', status: 403 })
  t.like(await failure(good.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k' }))), { name: 'NotFound', status: 404 })
})

test('sub-resources that are not implemented answer NotImplemented', async (t) => {
  const s3 = s3Client(cluster())
  const bucket = bucketName('subres')
  await s3.send(new CreateBucketCommand({ Bucket: bucket }))
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'v' }))
  t.like(await failure(s3.send(new GetBucketAclCommand({ Bucket: bucket }))), { name: 'NotImplemented', status: 501 })
  t.like(await failure(s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'k' }))), { name: 'NotImplemented', status: 501 })
  const raw = await signedSend(cluster(), { method: 'GET', path: `/${bucket}`, query: { cors: '' } })
  t.is(raw.status, 501)
  t.is(errorCode(raw), 'NotImplemented')
  t.regex(String(raw.headers['x-amz-request-id']), REQUEST_ID)
})

test('x-amz-request-id on every response: success, 206, 304, 404 on HEAD, 412, 416, XML errors', async (t) => {
  const seen: Array<{ status: number, requestId: string | undefined }> = []
  const s3 = s3Client(cluster())
  s3.middlewareStack.add((next) => async (args) => {
    const out = await next(args)
    const response = out.response as { statusCode: number, headers: Record<string, string> }
    seen.push({ status: response.statusCode, requestId: response.headers['x-amz-request-id'] })
    return out
  }, { step: 'deserialize', priority: 'low' })
  const bucket = bucketName('reqid')
  await s3.send(new CreateBucketCommand({ Bucket: bucket }))
  const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'hello' }))
  await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k', Range: 'bytes=1-2' }))
  await failure(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k', IfNoneMatch: put.ETag })))
  await failure(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'missing' })))
  await failure(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k', IfMatch: '"nope"' })))
  await failure(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k', Range: 'bytes=100-' })))
  await failure(s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket-here', Key: 'k' })))
  t.deepEqual(seen.map((s) => s.status), [200, 200, 206, 304, 404, 412, 416, 404])
  for (const s of seen) t.regex(s.requestId ?? '', REQUEST_ID, `status ${s.status}`)
  t.is(new Set(seen.map((s) => s.requestId)).size, seen.length, 'one id per request')
})

test('methods S3 lacks are NotImplemented, undecodable paths InvalidURI: S3 XML with a request id, not fastify JSON', async (t) => {
  for (const method of ['PATCH', 'OPTIONS', 'TRACE']) {
    const response = await send(cluster(), { method, url: '/some-bucket/key', headers: {} })
    t.is(response.status, 501, method)
    t.is(errorCode(response), 'NotImplemented', method)
    t.regex(String(response.headers['x-amz-request-id']), REQUEST_ID, method)
  }
  const bad = await send(cluster(), { method: 'GET', url: '/some-bucket/%zz', headers: {} })
  t.is(bad.status, 400)
  t.is(errorCode(bad), 'InvalidURI')
  t.regex(String(bad.headers['x-amz-request-id']), REQUEST_ID)
  t.regex(String(bad.headers['content-type']), /application\/xml/)
})

/** Every name resolves to loopback, so `<bucket>.s3.ringstack.test` needs no DNS. */
function loopbackAgent (): Agent {
  return new Agent({
    keepAlive: true,
    lookup: ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
      const address: LookupAddress = { address: '127.0.0.1', family: 4 }
      if (options.all === true) callback(null, [address])
      else callback(null, address.address, address.family)
    }) as never
  } as ConstructorParameters<typeof Agent>[0])
}

function virtualHostClient (): S3Client {
  return s3Client(cluster(), {
    endpoint: `http://${BASE_DOMAIN}:${cluster().port}`,
    forcePathStyle: false,
    requestHandler: { httpAgent: loopbackAgent() }
  })
}

test('virtual-host style: bucket in the Host header, the same objects as path style', async (t) => {
  const vhost = virtualHostClient()
  const path = s3Client(cluster())
  const bucket = bucketName('vhost')
  const hosts: string[] = []
  vhost.middlewareStack.add((next) => async (args) => {
    hosts.push(String((args.request as { hostname: string }).hostname))
    return await next(args)
  }, { step: 'finalizeRequest' })

  await vhost.send(new CreateBucketCommand({ Bucket: bucket }))
  await vhost.send(new PutObjectCommand({ Bucket: bucket, Key: 'dir/a b+c.txt', Body: 'via vhost', ContentType: 'text/plain' }))
  const got = await path.send(new GetObjectCommand({ Bucket: bucket, Key: 'dir/a b+c.txt' }))
  t.is((await bodyBytes(got.Body)).toString(), 'via vhost')
  t.is(got.ContentType, 'text/plain')

  await path.send(new PutObjectCommand({ Bucket: bucket, Key: 'dir/second', Body: 'via path' }))
  const listed = await vhost.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'dir/' }))
  t.deepEqual(listed.Contents?.map((c) => c.Key), ['dir/a b+c.txt', 'dir/second'])
  t.is(listed.Name, bucket)
  const head = await vhost.send(new HeadObjectCommand({ Bucket: bucket, Key: 'dir/second' }))
  t.is(head.ContentLength, 8)
  t.is((await vhost.send(new GetBucketLocationCommand({ Bucket: bucket }))).$metadata.httpStatusCode, 200)

  t.true(hosts.length > 0 && hosts.every((h) => h === `${bucket}.${BASE_DOMAIN}`), hosts.join(','))
  t.like(await failure(vhost.send(new GetObjectCommand({ Bucket: bucket, Key: 'missing' }))), { name: 'NoSuchKey', status: 404 })

  await vhost.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'dir/a b+c.txt' }))
  await vhost.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'dir/second' }))
  await vhost.send(new DeleteBucketCommand({ Bucket: bucket }))
  t.like(await failure(path.send(new HeadBucketCommand({ Bucket: bucket }))), { status: 404 })
})
