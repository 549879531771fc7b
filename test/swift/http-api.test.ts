import { createHash, randomBytes } from 'node:crypto'
import test from 'ava'
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3'
import { allInOneForFile } from '../helpers/all-in-one.ts'
import { s3Client } from '../s3/clients.ts'
import { v1Token } from './clients.ts'

/** The Swift API over plain HTTP: semantics the CLIs do not reach, bad input, and S3 and Swift as two views of one store. */

const cluster = allInOneForFile(test)
let auth: { token: string, storageUrl: string }

test.serial.before(async () => {
  auth = await v1Token(cluster())
})

type Body = string | Buffer | ReadableStream<Uint8Array>

async function call (method: string, path: string, headers: Record<string, string> = {}, body?: Body): Promise<Response> {
  return await fetch(`${auth.storageUrl}${path}`, {
    method,
    headers: { 'x-auth-token': auth.token, ...headers },
    // Strings go as bytes: fetch would label them text/plain.
    body: typeof body === 'string' ? Buffer.from(body) : body,
    ...(body instanceof ReadableStream ? { duplex: 'half' } : {})
  } as RequestInit)
}

async function put (path: string, body: Body, headers: Record<string, string> = {}): Promise<Response> {
  return await call('PUT', path, headers, body)
}

const md5 = (data: Buffer | string): string => createHash('md5').update(data).digest('hex')

test.serial('tokens: none or a forged one is 401, v1 auth with a wrong password is 401; /info lists swift, slo and dlo', async (t) => {
  t.is((await fetch(`${auth.storageUrl}`, { method: 'HEAD' })).status, 401)
  t.is((await fetch(`${auth.storageUrl}`, { headers: { 'x-auth-token': `${auth.token.slice(0, -4)}AAAA` } })).status, 401)
  t.is((await fetch(`${cluster().endpoint}/auth/v1.0`, { headers: { 'x-auth-user': 'admin:admin', 'x-auth-key': 'wrong' } })).status, 401)
  t.is((await fetch(`${cluster().endpoint}/auth/v1.0`, { headers: { 'x-auth-user': 'admin:nobody', 'x-auth-key': 'wrong' } })).status, 401)
  const info = await (await fetch(`${cluster().endpoint}/info`)).json() as Record<string, Record<string, unknown>>
  t.is(info.swift?.max_object_name_length, 1024)
  t.is(info.swift?.max_container_name_length, 256)
  t.truthy(info.slo?.max_manifest_segments)
  t.truthy(info.dlo)
})

test.serial('account and container listings: text, json and xml; prefix, delimiter, marker, end_marker, limit, reverse; counts and metadata', async (t) => {
  t.is((await put('/list-a', '')).status, 201)
  t.is((await put('/list-a', '', { 'x-container-meta-tier': 'gold' })).status, 202, 'a second PUT updates metadata')
  for (const name of ['a/1', 'a/2', 'b', 'c/x/y', 'd']) t.is((await put(`/list-a/${name}`, name)).status, 201)
  const head = await call('HEAD', '/list-a')
  t.is(head.status, 204)
  t.is(head.headers.get('x-container-object-count'), '5')
  t.is(head.headers.get('x-container-bytes-used'), String(3 + 3 + 1 + 5 + 1))
  t.is(head.headers.get('x-container-meta-tier'), 'gold')

  const text = async (query: string): Promise<string> => await (await call('GET', `/list-a${query}`)).text()
  t.is(await text(''), 'a/1\na/2\nb\nc/x/y\nd\n')
  t.is(await text('?delimiter=/'), 'a/\nb\nc/\nd\n')
  t.is(await text('?prefix=a/'), 'a/1\na/2\n')
  t.is(await text('?marker=a/2&end_marker=d'), 'b\nc/x/y\n')
  t.is(await text('?limit=2'), 'a/1\na/2\n')
  t.is(await text('?reverse=true'), 'd\nc/x/y\nb\na/2\na/1\n')
  t.is((await call('GET', '/list-a?prefix=zzz')).status, 204, 'an empty text listing is 204')

  const json = await (await call('GET', '/list-a?format=json&prefix=a/')).json() as Array<Record<string, unknown>>
  t.like(json[0], { name: 'a/1', bytes: 3, hash: md5('a/1'), content_type: 'application/octet-stream' })
  t.regex(String(json[0]?.last_modified), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/)
  t.deepEqual(await (await call('GET', '/list-a?format=json&delimiter=/&prefix=c')).json(), [{ subdir: 'c/' }])
  const xml = await (await call('GET', '/list-a?prefix=b', { accept: 'application/xml' })).text()
  t.regex(xml, /<container name="list-a"><object><name>b<\/name><hash>[0-9a-f]{32}<\/hash><bytes>1<\/bytes>/)

  t.is((await call('POST', '', { 'x-account-meta-quota': 'big' })).status, 204)
  const account = await call('GET', '?format=json')
  t.is(account.headers.get('x-account-meta-quota'), 'big')
  const containers = await account.json() as Array<{ name: string, count: number, bytes: number }>
  t.true(containers.some((c) => c.name === 'list-a'))
  t.is((await call('POST', '', { 'x-remove-account-meta-quota': 'x' })).status, 204)
  t.is((await call('HEAD', '')).headers.get('x-account-meta-quota'), null)

  t.is((await call('DELETE', '/list-a')).status, 409, 'a container with objects is not deleted')
  t.is((await call('POST', '/list-a', { 'x-remove-container-meta-tier': 'x' })).status, 204)
  t.is((await call('HEAD', '/list-a')).headers.get('x-container-meta-tier'), null)
  t.is((await call('DELETE', '/nope')).status, 404)
})

test.serial('object PUT: chunked bodies, ETag checked (422 stores nothing), content headers and metadata kept', async (t) => {
  await put('/objs', '')
  const data = randomBytes(300_000)
  const chunked = new ReadableStream<Uint8Array>({
    start (controller) {
      for (let i = 0; i < data.length; i += 65536) controller.enqueue(data.subarray(i, i + 65536))
      controller.close()
    }
  })
  const written = await put('/objs/chunked', chunked, { 'content-type': 'application/x-test' })
  t.is(written.status, 201)
  t.is(written.headers.get('etag'), md5(data))
  const got = await call('GET', '/objs/chunked')
  t.true(Buffer.from(await got.arrayBuffer()).equals(data))
  t.is(got.headers.get('content-type'), 'application/x-test')

  t.is((await put('/objs/bad-etag', 'some bytes', { etag: md5('other bytes') })).status, 422)
  t.is((await call('HEAD', '/objs/bad-etag')).status, 404, 'a refused body is not stored')
  t.is((await put('/objs/good-etag', 'some bytes', { etag: md5('some bytes') })).status, 201)

  await put('/objs/meta', 'x', {
    'content-disposition': 'attachment; filename="x.txt"', 'content-encoding': 'gzip', 'x-object-meta-color': 'red', 'x-object-meta-size': 'L'
  })
  const head = await call('HEAD', '/objs/meta')
  t.is(head.headers.get('content-disposition'), 'attachment; filename="x.txt"')
  t.is(head.headers.get('content-encoding'), 'gzip')
  t.is(head.headers.get('x-object-meta-color'), 'red')
  t.is((await call('POST', '/objs/meta', { 'x-object-meta-shape': 'round' })).status, 202)
  const posted = await call('HEAD', '/objs/meta')
  t.is(posted.headers.get('x-object-meta-shape'), 'round')
  t.is(posted.headers.get('x-object-meta-color'), null, 'POST replaces user metadata')
  t.is(posted.headers.get('content-disposition'), 'attachment; filename="x.txt"', 'content headers not sent stay')
  // Content-Encoding gzip: fetch would try to inflate the body, so only its length is checked.
  t.is((await call('HEAD', '/objs/meta')).headers.get('content-length'), '1', 'the bytes stay')
  t.is((await call('DELETE', '/objs/meta')).status, 204)
  t.is((await call('DELETE', '/objs/meta')).status, 404)
})

test.serial('ranges (one, several as multipart/byteranges, unsatisfiable) and conditional requests', async (t) => {
  await put('/ranges', '')
  const body = 'abcdefghijklmnopqrstuvwxyz'
  const etag = (await put('/ranges/o', body)).headers.get('etag')!
  const one = await call('GET', '/ranges/o', { range: 'bytes=2-4' })
  t.is(one.status, 206)
  t.is(one.headers.get('content-range'), 'bytes 2-4/26')
  t.is(await one.text(), 'cde')
  t.is(await (await call('GET', '/ranges/o', { range: 'bytes=-3' })).text(), 'xyz')
  const multi = await call('GET', '/ranges/o', { range: 'bytes=0-1,24-' })
  t.is(multi.status, 206)
  const boundary = /boundary=(\S+)/.exec(multi.headers.get('content-type') ?? '')?.[1]
  t.truthy(boundary)
  const text = await multi.text()
  t.is(text, `--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-1/26\r\n\r\nab\r\n` +
    `--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 24-25/26\r\n\r\nyz\r\n--${boundary}--`)
  t.is(Number(multi.headers.get('content-length')), Buffer.byteLength(text))
  const none = await call('GET', '/ranges/o', { range: 'bytes=100-200' })
  t.is(none.status, 416)
  t.is(none.headers.get('content-range'), 'bytes */26')

  t.is((await call('GET', '/ranges/o', { 'if-none-match': etag })).status, 304)
  t.is((await call('GET', '/ranges/o', { 'if-match': md5('other') })).status, 412)
  t.is((await call('GET', '/ranges/o', { 'if-match': etag })).status, 200)
  const later = new Date(Date.now() + 60_000).toUTCString()
  const earlier = new Date(Date.now() - 3600_000).toUTCString()
  t.is((await call('GET', '/ranges/o', { 'if-modified-since': later })).status, 304)
  t.is((await call('GET', '/ranges/o', { 'if-unmodified-since': earlier })).status, 412)
  t.is((await put('/ranges/o', 'new', { 'if-none-match': '*' })).status, 412)
})

test.serial('COPY with Destination and PUT with X-Copy-From carry bytes and metadata; request metadata overrides', async (t) => {
  await put('/copies', '')
  await put('/copies/src', 'copy me', { 'x-object-meta-origin': 'src', 'content-type': 'text/plain' })
  const copied = await call('COPY', '/copies/src', { destination: 'copies/dst', 'x-object-meta-extra': '1' })
  t.is(copied.status, 201)
  t.is(copied.headers.get('x-copied-from'), 'copies/src')
  const dst = await call('GET', '/copies/dst')
  t.is(await dst.text(), 'copy me')
  t.is(dst.headers.get('x-object-meta-origin'), 'src')
  t.is(dst.headers.get('x-object-meta-extra'), '1')
  t.is(dst.headers.get('content-type'), 'text/plain')
  t.is(dst.headers.get('etag'), md5('copy me'))
  t.is((await put('/copies/dst2', '', { 'x-copy-from': '/copies/src' })).status, 201)
  t.is(await (await call('GET', '/copies/dst2')).text(), 'copy me')
  t.is((await put('/copies/dst3', '', { 'x-copy-from': '/copies/missing' })).status, 404)
})

test.serial('names over Swift\'s limits are 400', async (t) => {
  t.is((await put(`/${'c'.repeat(257)}`, '')).status, 400)
  t.is((await put(`/${'c'.repeat(256)}`, '')).status, 201)
  t.is((await put(`/${'c'.repeat(256)}/${'o'.repeat(1025)}`, 'x')).status, 400)
  t.is((await put(`/${'c'.repeat(256)}/${'o'.repeat(1024)}`, 'x')).status, 201)
  t.is((await put('/plus+sign', '')).status, 400, '+ is kept for S3\'s multipart companions')
})

test.serial('Static Large Objects: manifest put, get (assembled, ranged, or the manifest), malformed manifests 400, delete with segments', async (t) => {
  await put('/slo', '')
  await put('/slo-seg', '')
  const parts = [randomBytes(1000), randomBytes(2000), randomBytes(500)]
  for (const [i, p] of parts.entries()) await put(`/slo-seg/p${i}`, p)
  const manifest = parts.map((p, i) => ({ path: `/slo-seg/p${i}`, etag: md5(p), size_bytes: p.length }))
  const written = await put('/slo/big?multipart-manifest=put', JSON.stringify(manifest))
  t.is(written.status, 201)
  const whole = Buffer.concat(parts)
  const got = await call('GET', '/slo/big')
  t.true(Buffer.from(await got.arrayBuffer()).equals(whole))
  t.is(got.headers.get('x-static-large-object'), 'True')
  t.is(got.headers.get('etag'), `"${md5(parts.map((p) => md5(p)).join(''))}"`)
  const ranged = await call('GET', '/slo/big', { range: 'bytes=900-1100' })
  t.true(Buffer.from(await ranged.arrayBuffer()).equals(whole.subarray(900, 1101)), 'a range across segments')
  const stored = await (await call('GET', '/slo/big?multipart-manifest=get')).json() as Array<{ name: string, bytes: number }>
  t.deepEqual(stored.map((s) => [s.name, s.bytes]), [['/slo-seg/p0', 1000], ['/slo-seg/p1', 2000], ['/slo-seg/p2', 500]])
  const listed = await (await call('GET', '/slo?format=json')).json() as Array<{ name: string, bytes: number }>
  t.is(listed.find((o) => o.name === 'big')?.bytes, whole.length, 'listed with its assembled size')

  const refused = async (body: string): Promise<string> => {
    const response = await put('/slo/bad?multipart-manifest=put', body)
    t.is(response.status, 400, body)
    return await response.text()
  }
  await refused('not json')
  await refused('{"path": "/slo-seg/p0"}')
  await refused('[]')
  await refused('[{"path": "no-slash"}]')
  t.regex(await refused('[{"path": "/slo-seg/missing"}]'), /\/slo-seg\/missing, 404 Not Found/)
  t.regex(await refused(JSON.stringify([{ path: '/slo-seg/p0', etag: md5('nope') }])), /Etag Mismatch/)
  t.regex(await refused(JSON.stringify([{ path: '/slo-seg/p0', size_bytes: 1 }])), /Size Mismatch/)
  t.is((await call('HEAD', '/slo/bad')).status, 404)

  const deleted = await call('DELETE', '/slo/big?multipart-manifest=delete')
  t.is(deleted.status, 200)
  t.regex(await deleted.text(), /Number Deleted: 4/)
  t.is(await (await call('GET', '/slo-seg')).text(), '')
})

test.serial('Dynamic Large Objects: the prefix-listed segments in name order', async (t) => {
  await put('/dlo', '')
  await put('/dlo/seg/002', 'cc')
  await put('/dlo/seg/001', 'bb')
  await put('/dlo/seg/000', 'aa')
  t.is((await put('/dlo/manifest', '', { 'x-object-manifest': 'dlo/seg/' })).status, 201)
  const got = await call('GET', '/dlo/manifest')
  t.is(await got.text(), 'aabbcc')
  t.is(got.headers.get('x-object-manifest'), 'dlo/seg/')
  t.is(got.headers.get('etag'), `"${md5(md5('aa') + md5('bb') + md5('cc'))}"`)
  t.is(await (await call('GET', '/dlo/manifest', { range: 'bytes=1-4' })).text(), 'abbc')
  await put('/dlo/seg/003', 'dd')
  t.is(await (await call('GET', '/dlo/manifest')).text(), 'aabbccdd', 'a new segment joins at read time')
})

test.serial('X-Delete-After: gone at once when due, then reaped from the listing', async (t) => {
  await put('/expiring', '')
  t.is((await put('/expiring/soon', 'bye', { 'x-delete-after': '1' })).status, 201)
  t.is((await put('/expiring/past', 'x', { 'x-delete-at': String(Math.floor(Date.now() / 1000) - 10) })).status, 400)
  t.truthy((await call('HEAD', '/expiring/soon')).headers.get('x-delete-at'))
  await new Promise((resolve) => setTimeout(resolve, 2100))
  t.is((await call('GET', '/expiring/soon')).status, 404)
  for (let i = 0; i < 40 && await (await call('GET', '/expiring')).text() !== ''; i++) await new Promise((resolve) => setTimeout(resolve, 500))
  t.is(await (await call('GET', '/expiring')).text(), '', 'the reaper removed it')
})

test.serial('CORS: preflights follow the container\'s allowed origins (any origin without the setting); responses carry Allow-Origin', async (t) => {
  await put('/cors-open', '')
  await put('/cors-closed', '', { 'x-container-meta-access-control-allow-origin': 'https://good.example' })
  const preflight = async (container: string, origin: string): Promise<Response> => await fetch(`${auth.storageUrl}/${container}/o`, {
    method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-auth-token' }
  })
  const open = await preflight('cors-open', 'https://any.example')
  t.is(open.status, 200)
  t.is(open.headers.get('access-control-allow-origin'), 'https://any.example')
  t.regex(open.headers.get('access-control-allow-headers') ?? '', /x-auth-token/)
  t.is((await preflight('cors-closed', 'https://good.example')).status, 200)
  t.is((await preflight('cors-closed', 'https://evil.example')).status, 401)
  await put('/cors-closed/o', 'x')
  const allowed = await call('GET', '/cors-closed/o', { origin: 'https://good.example' })
  t.is(allowed.headers.get('access-control-allow-origin'), 'https://good.example')
  t.regex(allowed.headers.get('access-control-expose-headers') ?? '', /etag/)
  t.is((await call('GET', '/cors-closed/o', { origin: 'https://evil.example' })).headers.get('access-control-allow-origin'), null)
})

test.serial('S3 and Swift are two views of one store: bytes, metadata and ETag cross both ways', async (t) => {
  const s3 = s3Client(cluster())
  t.is((await put('/cross-api', '')).status, 201, 'a Swift container is an S3 bucket')
  const fromS3 = randomBytes(5000)
  const putS3 = await s3.send(new PutObjectCommand({ Bucket: 'cross-api', Key: 'from-s3.bin', Body: fromS3, ContentType: 'image/png', Metadata: { camera: 'x100' } }))
  const got = await call('GET', '/cross-api/from-s3.bin')
  t.true(Buffer.from(await got.arrayBuffer()).equals(fromS3))
  t.is(got.headers.get('x-object-meta-camera'), 'x100')
  t.is(got.headers.get('content-type'), 'image/png')
  t.is(putS3.ETag, `"${got.headers.get('etag')}"`)

  const fromSwift = randomBytes(7000)
  const swiftEtag = (await put('/cross-api/from-swift.bin', fromSwift, { 'x-object-meta-lens': '35mm', 'content-type': 'text/x-swift' })).headers.get('etag')
  const viaS3 = await s3.send(new GetObjectCommand({ Bucket: 'cross-api', Key: 'from-swift.bin' }))
  t.true(Buffer.from(await viaS3.Body!.transformToByteArray()).equals(fromSwift))
  t.deepEqual(viaS3.Metadata, { lens: '35mm' })
  t.is(viaS3.ContentType, 'text/x-swift')
  t.is(viaS3.ETag, `"${swiftEtag}"`)

  // An S3 multipart object reads whole through Swift; its parts stay out of Swift's container list.
  const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'cross-api', Key: 'multi.bin' }))
  const parts = [randomBytes(5 * 1024 * 1024), randomBytes(1000)]
  const etags = []
  for (const [i, p] of parts.entries()) etags.push((await s3.send(new UploadPartCommand({ Bucket: 'cross-api', Key: 'multi.bin', UploadId: upload.UploadId, PartNumber: i + 1, Body: p }))).ETag)
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'cross-api', Key: 'multi.bin', UploadId: upload.UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }))
  const multi = await call('GET', '/cross-api/multi.bin')
  t.true(Buffer.from(await multi.arrayBuffer()).equals(Buffer.concat(parts)))
  const containers = await (await call('GET', '')).text()
  t.false(containers.includes('+'), 'S3\'s multipart companions are not listed')

  // Swift's large objects read whole through S3.
  await put('/cross-api/seg/1', 'one-')
  await put('/cross-api/seg/2', 'two')
  await put('/cross-api/slo?multipart-manifest=put', JSON.stringify([{ path: '/cross-api/seg/1' }, { path: '/cross-api/seg/2' }]))
  await put('/cross-api/dlo', '', { 'x-object-manifest': 'cross-api/seg/' })
  for (const key of ['slo', 'dlo']) {
    const large = await s3.send(new GetObjectCommand({ Bucket: 'cross-api', Key: key }))
    t.is(Buffer.from(await large.Body!.transformToByteArray()).toString(), 'one-two', `a Swift ${key.toUpperCase()} through S3`)
    t.is(large.ContentLength, 7)
  }
})
