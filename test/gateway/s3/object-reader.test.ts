import test from 'ava'
import { StorageError, type Namespace, type ObjectInfo, type ObjectPath, type ObjectRead } from '../../../storage/index.ts'
import type { S3Error } from '../../../gateway/s3/errors.ts'
import { openObject } from '../../../gateway/s3/object-reader.ts'
import { parseRange } from '../../../gateway/http/range.ts'

/** openObject against a one-object store that answers reads as the object client does. */
function storeOf (body: Buffer): Namespace {
  const info: ObjectInfo = { exists: true, deleted: false, timestamp: 1n << 16n, size: body.length, checksum: '', metadata: { etag: 'e' } }
  const store = {
    async headObject (_path: ObjectPath): Promise<ObjectInfo> { return info },
    async getObject (_path: ObjectPath, range: { offset?: number, length?: number } = {}): Promise<ObjectRead> {
      const offset = range.offset ?? 0
      // The object client refuses only offsets past the end; offset 0 of an empty object is an empty read.
      if (offset > 0 && offset >= body.length) throw new StorageError('RangeNotSatisfiable', 'past the end')
      const piece = body.subarray(offset, range.length === undefined ? undefined : offset + range.length)
      return { info, body: (async function * () { yield piece })() }
    }
  }
  return store as unknown as Namespace
}

const PATH: ObjectPath = { account: 'AUTH_a', container: 'b', object: 'k' }

test('every range of an empty object is InvalidRange with Content-Range bytes */0', async (t) => {
  for (const header of ['bytes=0-', 'bytes=0-0', 'bytes=-1']) {
    let size: number | undefined
    const error = await t.throwsAsync<S3Error>(openObject(storeOf(Buffer.alloc(0)), PATH, parseRange(header), true, (s) => { size = s }))
    t.is(error?.code, 'InvalidRange', header)
    t.is(error?.status, 416)
    t.is(size, 0, header)
  }
})

test('ranges of a plain object: served, clipped at the end, past the end refused', async (t) => {
  const body = Buffer.from('0123456789')
  const opened = await openObject(storeOf(body), PATH, parseRange('bytes=8-20'), true)
  t.is(opened.contentRange, 'bytes 8-9/10')
  t.is(opened.length, 2)
  const pieces: Buffer[] = []
  for await (const piece of opened.body) pieces.push(piece)
  t.is(Buffer.concat(pieces).toString(), '89')
  await t.throwsAsync(openObject(storeOf(body), PATH, parseRange('bytes=10-'), true), { code: 'InvalidRange' })
})
