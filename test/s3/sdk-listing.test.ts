import test from 'ava'
import {
  CreateBucketCommand, ListObjectsCommand, ListObjectsV2Command, PutObjectCommand, type ListObjectsCommandOutput,
  type ListObjectsV2CommandOutput, type S3Client
} from '@aws-sdk/client-s3'
import { allInOneForFile } from '../helpers/all-in-one.ts'
import { byteOrder, referenceList, type ReferenceItem } from '../listings/reference.ts'
import { bucketName, failure, s3Client } from './clients.ts'
import { errorCode, signedSend } from './raw-request.ts'

/** ListObjects v1 and v2 through @aws-sdk/client-s3, page by page, against a reference listing computed here. */

const cluster = allInOneForFile(test)

const ODD = ['sp ace/x', 'plus+sign', 'pct%20literal', 'pct%', 'new\nline/x', 'uni/\u00e9', 'uni/\u4e2d', 'uni/\ue000', 'uni/\ud83d\ude00',
  'uni/\uffff', 'tab\tkey', 'cr\rlf\r\n', 'bell\u0007', '~tilde', 'amp&lt;<>"\'', 'a/b/c/d', 'a/b/c/e', 'a/b/f', 'a//double', 'trailing/', '/leading']
const KEYS = [
  ...ODD,
  ...Array.from({ length: 40 }, (_, i) => `logs/2025/${String(i).padStart(3, '0')}.log`),
  ...Array.from({ length: 30 }, (_, i) => `photos/${['cats', 'dogs', 'birds'][i % 3]}/${i}.jpg`),
  ...Array.from({ length: 25 }, (_, i) => `top-${String(i).padStart(2, '0')}`)
]

let bucket = ''

test.serial.before(async () => {
  const s3 = s3Client(cluster())
  bucket = bucketName('list')
  await s3.send(new CreateBucketCommand({ Bucket: bucket }))
  for (let i = 0; i < KEYS.length; i += 16) {
    await Promise.all(KEYS.slice(i, i + 16).map(async (key) => await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }))))
  }
})

/** Undoes encoding-type=url: S3 may send a space as `+` (form style) or `%20`; a literal `+` is always `%2B`. */
function urlDecode (text: string): string {
  return decodeURIComponent(text.replace(/\+/g, '%20'))
}

function itemsOf (page: ListObjectsV2CommandOutput | ListObjectsCommandOutput, decode: (s: string) => string): ReferenceItem[] {
  const items: ReferenceItem[] = [
    ...(page.Contents ?? []).map((c) => ({ name: decode(c.Key!) })),
    ...(page.CommonPrefixes ?? []).map((p) => ({ prefix: decode(p.Prefix!) }))
  ]
  return items.sort((a, b) => byteOrder('name' in a ? a.name : a.prefix, 'name' in b ? b.name : b.prefix))
}

interface Query { prefix?: string, delimiter?: string, maxKeys: number, startAfter?: string, encode?: boolean }

async function pagesV2 (s3: S3Client, q: Query): Promise<{ items: ReferenceItem[], pages: ListObjectsV2CommandOutput[] }> {
  const items: ReferenceItem[] = []
  const pages: ListObjectsV2CommandOutput[] = []
  let token: string | undefined
  const tokens = new Set<string>()
  for (;;) {
    const page = await s3.send(new ListObjectsV2Command({
      Bucket: bucket, Prefix: q.prefix, Delimiter: q.delimiter, MaxKeys: q.maxKeys, StartAfter: q.startAfter, ContinuationToken: token,
      EncodingType: q.encode === true ? 'url' : undefined
    }))
    pages.push(page)
    items.push(...itemsOf(page, q.encode === true ? urlDecode : (s) => s))
    if (page.IsTruncated !== true) return { items, pages }
    token = page.NextContinuationToken
    if (token === undefined || tokens.has(token)) throw new Error(`truncated page with a missing or repeated token: ${token}`)
    tokens.add(token)
    if (pages.length > 500) throw new Error('listing does not end')
  }
}

const QUERIES: Query[] = [
  { maxKeys: 1000 },
  { maxKeys: 7 },
  { maxKeys: 1, delimiter: '/' },
  { maxKeys: 3, delimiter: '/' },
  { maxKeys: 4, delimiter: '/', prefix: 'photos/' },
  { maxKeys: 5, delimiter: '/', prefix: 'a/' },
  { maxKeys: 2, delimiter: '/', prefix: 'uni/' },
  { maxKeys: 6, prefix: 'logs/2025/0', startAfter: 'logs/2025/013.log' },
  { maxKeys: 4, delimiter: '/', startAfter: 'logs/' },
  { maxKeys: 3, delimiter: 'o' },
  { maxKeys: 1000, prefix: 'nothing-here/' }
]

for (const q of QUERIES) {
  test(`ListObjectsV2 paging ${JSON.stringify(q)} matches the reference, KeyCount and tokens right`, async (t) => {
    const s3 = s3Client(cluster())
    const { items, pages } = await pagesV2(s3, q)
    const expected = referenceList(KEYS, { prefix: q.prefix, delimiter: q.delimiter, marker: q.startAfter })
    t.deepEqual(items, expected.items)
    for (const page of pages) {
      const count = (page.Contents?.length ?? 0) + (page.CommonPrefixes?.length ?? 0)
      t.is(page.KeyCount, count)
      t.true(count <= q.maxKeys)
      t.is(page.MaxKeys, q.maxKeys)
      t.is(page.Name, bucket)
      t.is(page.Prefix ?? '', q.prefix ?? '')
      t.is(page.Delimiter, q.delimiter)
      t.is(page.StartAfter, q.startAfter)
      if (page.IsTruncated === true) t.true(count > 0, 'a truncated page is never empty')
      for (const c of page.Contents ?? []) {
        t.is(c.Owner, undefined, 'no owner without fetch-owner')
        t.is(c.Size, Buffer.byteLength(c.Key!))
        t.is(c.StorageClass, 'STANDARD')
        t.regex(c.ETag!, /^"[0-9a-f]{32}"$/)
      }
    }
    t.is(pages.at(-1)!.IsTruncated, false)
  })
}

test('ListObjectsV2 encoding-type=url: keys, prefixes, delimiter and start-after come back URL-encoded', async (t) => {
  const s3 = s3Client(cluster())
  for (const q of [{ maxKeys: 1000, encode: true }, { maxKeys: 3, delimiter: '/', encode: true }, { maxKeys: 2, prefix: 'uni/', encode: true, startAfter: 'uni/\u00e9' }]) {
    const { items, pages } = await pagesV2(s3, q)
    t.deepEqual(items, referenceList(KEYS, { prefix: q.prefix, delimiter: q.delimiter, marker: q.startAfter }).items)
    for (const page of pages) {
      t.is(page.EncodingType, 'url')
      for (const c of page.Contents ?? []) t.regex(c.Key!, /^[A-Za-z0-9%+\-_.~/*]*$/, 'nothing but URL-safe characters')
      if (q.startAfter !== undefined) t.is(urlDecode(page.StartAfter!), q.startAfter)
    }
  }
  const raw = await signedSend(cluster(), { method: 'GET', path: `/${bucket}`, query: { 'list-type': '2', 'encoding-type': 'url', prefix: 'new\nline/', delimiter: '/' } })
  t.is(raw.status, 200)
  t.regex(raw.body, /<Key>new%0Aline\/x<\/Key>/)
  t.regex(raw.body, /<Prefix>new%0Aline\/<\/Prefix>/)
})

test('ListObjectsV2 without encoding: keys come back as stored (XML-escaped), in UTF-8 byte order', async (t) => {
  const s3 = s3Client(cluster())
  const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket }))
  const keys = page.Contents!.map((c) => c.Key!)
  t.deepEqual(keys, [...KEYS].sort(byteOrder))
  t.true(keys.indexOf('uni/\ue000') < keys.indexOf('uni/\ud83d\ude00'), 'U+E000 sorts before U+1F600 in UTF-8, after it in UTF-16')
  t.true(keys.includes('new\nline/x'))
  t.true(keys.includes('amp&lt;<>"\''))
})

test('max-keys 0, fetch-owner, KeyCount with CommonPrefixes', async (t) => {
  const s3 = s3Client(cluster())
  const none = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 0 }))
  t.is(none.KeyCount, 0)
  t.is(none.MaxKeys, 0)
  t.is(none.Contents, undefined)
  t.is(none.IsTruncated, false)
  t.is(none.NextContinuationToken, undefined)
  const noneV1 = await s3.send(new ListObjectsCommand({ Bucket: bucket, MaxKeys: 0 }))
  t.is(noneV1.Contents, undefined)
  t.is(noneV1.IsTruncated, false)

  const owned = await s3.send(new ListObjectsV2Command({ Bucket: bucket, FetchOwner: true, MaxKeys: 3 }))
  t.is(owned.Contents?.length, 3)
  for (const c of owned.Contents!) t.truthy(c.Owner?.ID)
  const v1 = await s3.send(new ListObjectsCommand({ Bucket: bucket, MaxKeys: 3 }))
  for (const c of v1.Contents!) t.truthy(c.Owner?.ID, 'v1 always names the owner')

  const rolled = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Delimiter: '/', MaxKeys: 1000 }))
  const expected = referenceList(KEYS, { delimiter: '/' }).items
  t.is(rolled.KeyCount, expected.length)
  t.deepEqual(rolled.CommonPrefixes?.map((p) => p.Prefix), expected.filter((i) => 'prefix' in i).map((i) => (i as { prefix: string }).prefix))
})

test('continuation tokens are opaque: a made-up one is InvalidArgument', async (t) => {
  const s3 = s3Client(cluster())
  for (const token of ['not-a-token', 'bG9ncy8', '%%%']) {
    t.like(await failure(s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }))), { name: 'InvalidArgument', status: 400 }, token)
  }
  const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 2 }))
  t.false(KEYS.some((key) => page.NextContinuationToken!.includes(key)), 'the token is not a raw key')
  const raw = await signedSend(cluster(), { method: 'GET', path: `/${bucket}`, query: { 'list-type': '2', 'continuation-token': '' } })
  t.is(errorCode(raw), 'InvalidArgument', 'an empty token is refused too')
  for (const maxKeys of ['-1', 'ten']) {
    const bad = await signedSend(cluster(), { method: 'GET', path: `/${bucket}`, query: { 'list-type': '2', 'max-keys': maxKeys } })
    t.is(errorCode(bad), 'InvalidArgument', maxKeys)
  }
})

for (const q of [{ maxKeys: 6 }, { maxKeys: 2, delimiter: '/' }, { maxKeys: 3, delimiter: '/', prefix: 'photos/' }, { maxKeys: 4, encode: true }, { maxKeys: 3, delimiter: '/', encode: true }] as Query[]) {
  test(`ListObjects v1 paging with markers ${JSON.stringify(q)} matches the reference`, async (t) => {
    const s3 = s3Client(cluster())
    const decode = q.encode === true ? urlDecode : (s: string) => s
    const items: ReferenceItem[] = []
    let marker: string | undefined
    for (let pages = 0; ; pages++) {
      const page = await s3.send(new ListObjectsCommand({
        Bucket: bucket, Prefix: q.prefix, Delimiter: q.delimiter, MaxKeys: q.maxKeys, Marker: marker, EncodingType: q.encode === true ? 'url' : undefined
      }))
      t.is(decode(page.Marker ?? ''), marker ?? '')
      t.is(page.MaxKeys, q.maxKeys)
      const pageItems = itemsOf(page, decode)
      t.true(pageItems.length <= q.maxKeys)
      items.push(...pageItems)
      if (page.IsTruncated !== true) break
      // S3 sends NextMarker only with a delimiter; without one the client continues from the last key.
      const next = page.NextMarker !== undefined ? decode(page.NextMarker) : decode(page.Contents!.at(-1)!.Key!)
      if (q.delimiter !== undefined) t.truthy(page.NextMarker)
      t.not(next, marker)
      marker = next
      if (pages > 500) throw new Error('listing does not end')
    }
    t.deepEqual(items, referenceList(KEYS, { prefix: q.prefix, delimiter: q.delimiter }).items)
  })
}
