import * as grpc from '@grpc/grpc-js'
import test from 'ava'
import { HybridClock, StorageError } from '../../storage/index.ts'
import { loadObjectStore } from '../../storage/proto.ts'
import { collect, NodeProcess, pattern, ref, rejectsWith } from './node-process.ts'

const clock = new HybridClock()
let node: NodeProcess

test.before(async () => {
  node = await NodeProcess.create()
  await node.launch()
})

test.after.always(async () => {
  await node?.destroy()
})

async function put (object: string, body: Buffer, timestamp = clock.tick()): Promise<bigint> {
  const stream = node.client().put(ref(object), { timestamp, size: body.length })
  await stream.write(body)
  await stream.finish()
  return timestamp
}

test('an object never stored does not exist', async (t) => {
  const client = node.client()
  t.deepEqual(await client.head(ref('never')), {
    exists: false, deleted: false, timestamp: 0n, size: 0, checksum: '', metadata: {}
  })
  const read = await client.get(ref('never'))
  t.false(read.info.exists)
  t.is((await collect(read.body)).length, 0)
})

test('the newest write wins, whatever order writes arrive in', async (t) => {
  const client = node.client()
  const older = clock.tick()
  const newer = clock.tick()
  await put('lww', Buffer.from('newer'), newer)
  await rejectsWith(t, put('lww', Buffer.from('older'), older), 'Conflict')
  await rejectsWith(t, put('lww', Buffer.from('same stamp'), newer), 'Conflict')
  const newest = await put('lww', Buffer.from('newest'))
  const read = await client.get(ref('lww'))
  t.is(read.info.timestamp, newest)
  t.is((await collect(read.body)).toString(), 'newest')
})

test('a stale write is refused at the header, before its body is sent', async (t) => {
  const client = node.client()
  const stamp = await put('early-conflict', Buffer.from('v2'))
  const stale = client.put(ref('early-conflict'), { timestamp: stamp - 1n })
  // The node answers as soon as it sees the header; writes then fail with its answer.
  const error = await t.throwsAsync(async () => {
    for (let i = 0; i < 64; i++) await stale.write(pattern(1024 * 1024, i))
    await stale.finish()
  }, { instanceOf: StorageError })
  t.is(error?.code, 'Conflict')
})

test('concurrent writes of one name leave the highest stamp', async (t) => {
  const client = node.client()
  const stamps = Array.from({ length: 16 }, () => clock.tick())
  const shuffled = [...stamps].sort(() => Math.random() - 0.5)
  const results = await Promise.allSettled(shuffled.map(async (stamp) => await put('race', Buffer.from(stamp.toString()), stamp)))
  for (const result of results) {
    if (result.status === 'rejected') t.is((result.reason as StorageError).code, 'Conflict')
  }
  const newest = stamps[stamps.length - 1]!
  const read = await client.get(ref('race'))
  t.is(read.info.timestamp, newest)
  t.is((await collect(read.body)).toString(), newest.toString())
})

test('delete leaves a tombstone; older deletes and writes conflict with it', async (t) => {
  const client = node.client()
  const written = await put('doomed', Buffer.from('x'))
  const deletedAt = clock.tick()
  const tombstone = await client.delete(ref('doomed'), deletedAt)
  t.like(tombstone, { exists: true, deleted: true, timestamp: deletedAt, size: 0, checksum: '' })
  t.deepEqual(await client.head(ref('doomed')), tombstone)
  await rejectsWith(t, client.delete(ref('doomed'), written), 'Conflict')
  await rejectsWith(t, put('doomed', Buffer.from('y'), written + 1n), 'Conflict')
  const read = await client.get(ref('doomed'))
  t.true(read.info.deleted)
  t.is((await collect(read.body)).length, 0)
  const revived = await put('doomed', Buffer.from('back'))
  t.like(await client.head(ref('doomed')), { deleted: false, timestamp: revived, size: 4 })
})

test('deleting a name never seen still records the tombstone', async (t) => {
  const client = node.client()
  const stamp = clock.tick()
  t.like(await client.delete(ref('ghost'), stamp), { exists: true, deleted: true, timestamp: stamp })
  t.like(await client.head(ref('ghost')), { exists: true, deleted: true, timestamp: stamp })
  await rejectsWith(t, put('ghost', Buffer.from('late'), stamp - 1n), 'Conflict')
})

test('an unknown device is UnknownDevice', async (t) => {
  const client = node.client()
  const elsewhere = { ...ref('x'), device: 'nope' }
  await rejectsWith(t, client.head(elsewhere), 'UnknownDevice')
  await rejectsWith(t, client.get(elsewhere), 'UnknownDevice')
  await rejectsWith(t, client.delete(elsewhere, clock.tick()), 'UnknownDevice')
  const stream = client.put(elsewhere, { timestamp: clock.tick() })
  await rejectsWith(t, stream.finish(), 'UnknownDevice')
})

test('bad names and stamps are InvalidArgument', async (t) => {
  const client = node.client()
  await rejectsWith(t, client.head({ ...ref('x'), account: '' }), 'InvalidArgument', /account name is empty/)
  await rejectsWith(t, client.head({ ...ref('x'), container: 'a/b' }), 'InvalidArgument', /contains "\/"/)
  await rejectsWith(t, client.head(ref('')), 'InvalidArgument', /object name is empty/)
  await rejectsWith(t, client.head(ref('nul\0byte')), 'InvalidArgument', /NUL/)
  await rejectsWith(t, client.head(ref('é'.repeat(513))), 'InvalidArgument', /longer than 1024 bytes/)
  t.false((await client.head(ref('é'.repeat(512)))).exists)
  await rejectsWith(t, client.delete(ref('x'), 0n), 'InvalidArgument', /timestamp/)
  await rejectsWith(t, put('zero-stamp', Buffer.from('x'), 0n), 'InvalidArgument', /timestamp/)
})

test('object names keep slashes, unicode and dots', async (t) => {
  const client = node.client()
  for (const name of ['a/b/c', 'ünï/cödé ✓', '.hidden', '..', '/leading']) {
    await put(name, Buffer.from(name))
    t.is((await collect((await client.get(ref(name))).body)).toString(), name)
  }
})

test('a 2 MiB chunk is InvalidArgument and the node stays up', async (t) => {
  const ObjectStore = loadObjectStore()
  const raw = new ObjectStore(node.address, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': 8 * 1024 * 1024
  })
  t.teardown(() => raw.close())
  const error = await new Promise<grpc.ServiceError | null>((resolve) => {
    const call = raw.PutObject((err) => resolve(err))
    call.write({ header: { ref: ref('oversized'), timestamp: clock.tick().toString(), size: '-1' } })
    call.write({ chunk: Buffer.alloc(2 * 1024 * 1024) })
    call.write({ trailer: { metadata: {} } })
    call.end()
  })
  t.is(error?.code, grpc.status.INVALID_ARGUMENT)
  t.regex(error?.details ?? '', /chunk too large/)
  t.is(error?.metadata.get('ringstack-error-code')[0], 'InvalidArgument')
  t.false((await node.client().head(ref('oversized'))).exists)
  await put('after-oversized', Buffer.from('fine'))
  t.true((await node.client().head(ref('after-oversized'))).exists)
})

test('out-of-order put streams are InvalidArgument', async (t) => {
  const ObjectStore = loadObjectStore()
  const raw = new ObjectStore(node.address, grpc.credentials.createInsecure())
  t.teardown(() => raw.close())
  const header = { header: { ref: ref('order'), timestamp: clock.tick().toString(), size: '-1' } }
  const cases: Array<[string, object[]]> = [
    ['chunk before the header', [{ chunk: Buffer.from('x') }, header]],
    ['stream ended without a trailer', [header, { chunk: Buffer.from('x') }]],
    ['message after the trailer', [header, { trailer: {} }, { chunk: Buffer.from('x') }]],
    ['second header', [header, header]],
    ['no header', []]
  ]
  for (const [message, messages] of cases) {
    const error = await new Promise<grpc.ServiceError | null>((resolve) => {
      const call = raw.PutObject((err) => resolve(err))
      for (const m of messages) call.write(m)
      call.end()
    })
    t.is(error?.code, grpc.status.INVALID_ARGUMENT, message)
    t.regex(error?.details ?? '', new RegExp(message), message)
  }
  t.false((await node.client().head(ref('order'))).exists)
})
