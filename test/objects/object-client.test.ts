import { createHash, randomBytes } from 'node:crypto'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import test from 'ava'
import { StorageError, type StorageErrorCode } from '../../storage/index.ts'
import { TestCluster, bytesOf, collect, sameBytes } from '../helpers/cluster.ts'

let shared: TestCluster
test.before(async () => { shared = await TestCluster.start(undefined) })
test.after.always(async () => { await shared?.destroy() })

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
const path = (object: string) => ({ account: 'AUTH_test', container: 'c', object })

async function isStorageError (t: import('ava').ExecutionContext, promise: Promise<unknown>, code: StorageErrorCode): Promise<void> {
  const err = await t.throwsAsync(promise)
  t.true(err instanceof StorageError, `expected a StorageError, got ${String(err)}`)
  t.is((err as StorageError).code, code)
}

/** Every replica file a node holds for anything, recursively under objects/. */
async function dataFiles (dir: string): Promise<string[]> {
  const entries = await readdir(join(dir, 'objects'), { recursive: true, withFileTypes: true }).catch(() => [])
  return entries.filter((e) => e.isFile() && e.name.endsWith('.data')).map((e) => join(e.parentPath, e.name))
}

test('round trips of 0 B, 1 B, 4 KiB and 64 MiB', async (t) => {
  const cluster = shared
  for (const size of [0, 1, 4096, 64 * 1024 * 1024]) {
    const body = randomBytes(size)
    const put = await cluster.client.put(path(`size-${size}`), bytesOf(body), { size, metadata: { 'content-type': 'application/x-test' } })
    t.is(put.size, size)
    const head = await cluster.client.head(path(`size-${size}`))
    t.is(head.size, size)
    t.is(head.metadata['content-type'], 'application/x-test')
    const read = await cluster.client.get(path(`size-${size}`))
    t.is(sha256(await collect(read.body)), sha256(body), `${size} bytes come back intact`)
  }
})

test('range reads: first byte, last byte, middle, past the end, before the start', async (t) => {
  const cluster = shared
  const body = randomBytes(3 * 1024 * 1024 + 17)
  await cluster.client.put(path('ranged'), bytesOf(body))
  const range = async (offset: number, length?: number): Promise<Buffer> =>
    await collect((await cluster.client.get(path('ranged'), { offset, length })).body)
  sameBytes(t, await range(0, 1), body.subarray(0, 1))
  sameBytes(t, await range(body.length - 1, 1), body.subarray(body.length - 1))
  sameBytes(t, await range(1_000_000, 2_000_000), body.subarray(1_000_000, 3_000_000))
  sameBytes(t, await range(body.length - 10, 1000), body.subarray(body.length - 10), 'a range past the end is clipped')
  sameBytes(t, await range(5), body.subarray(5), 'an open range reads to the end')
  await isStorageError(t, range(body.length), 'RangeNotSatisfiable')
  await isStorageError(t, range(-1, 5), 'InvalidArgument')
})

test('overwrite: the newest write wins, an older stamp is refused', async (t) => {
  const cluster = shared
  const first = await cluster.client.put(path('o'), bytesOf(Buffer.from('first')))
  await cluster.client.put(path('o'), bytesOf(Buffer.from('second')))
  t.is((await collect((await cluster.client.get(path('o'))).body)).toString(), 'second')
  await isStorageError(t, cluster.client.put(path('o'), bytesOf(Buffer.from('stale')), { timestamp: first.timestamp }), 'Conflict')
  t.is((await collect((await cluster.client.get(path('o'))).body)).toString(), 'second')
})

test('delete then read is not found; unknown objects are not found', async (t) => {
  const cluster = shared
  await cluster.client.put(path('doomed'), bytesOf(Buffer.from('x')))
  await cluster.client.delete(path('doomed'))
  await isStorageError(t, cluster.client.get(path('doomed')), 'NotFound')
  await isStorageError(t, cluster.client.head(path('doomed')), 'NotFound')
  await isStorageError(t, cluster.client.get(path('never-written')), 'NotFound')
})

test('bad requests get typed errors', async (t) => {
  const cluster = shared
  await isStorageError(t, cluster.client.put({ account: 'a', container: '', object: 'o' }, bytesOf(Buffer.from('x'))), 'InvalidArgument')
  await isStorageError(t, cluster.client.head({ account: 'a', container: 'c', object: 'x'.repeat(1025) }), 'InvalidArgument')
  await isStorageError(t, cluster.client.put(path('short'), bytesOf(Buffer.from('abc')), { size: 10 }), 'InvalidArgument')
  t.is((await cluster.client.put(path('after'), bytesOf(Buffer.from('ok')))).size, 2, 'the cluster still serves')
})

test.serial('kill -9 of one node: old and new objects still read and write; its data survives restart', async (t) => {
  const cluster = await TestCluster.start(t)
  const old = new Map<string, Buffer>()
  for (let i = 0; i < 20; i++) {
    const body = randomBytes(1000 + i)
    old.set(`old-${i}`, body)
    await cluster.client.put(path(`old-${i}`), bytesOf(body))
  }
  const before = await dataFiles(cluster.nodes[1]!.devicePath)
  t.true(before.length > 0)
  await cluster.stopNode(1)

  for (const [name, body] of old) sameBytes(t, await collect((await cluster.client.get(path(name))).body), body, name)
  const fresh = new Map<string, Buffer>()
  for (let i = 0; i < 20; i++) {
    const body = randomBytes(5000 + i)
    fresh.set(`new-${i}`, body)
    await cluster.client.put(path(`new-${i}`), bytesOf(body))
  }
  for (const [name, body] of fresh) sameBytes(t, await collect((await cluster.client.get(path(name))).body), body, name)

  await cluster.startNode(1)
  const after = await dataFiles(cluster.nodes[1]!.devicePath)
  t.deepEqual(after.sort(), before.sort(), 'the restarted node kept every replica it had')
  for (const [name, body] of [...old, ...fresh]) sameBytes(t, await collect((await cluster.client.get(path(name))).body), body, name)
})

test.serial('a flipped byte in one replica is never served: the read moves to a good replica', async (t) => {
  // R = 3 makes every read hear all replicas and pick the first in ring order,
  // so the corrupted primary is the one read first, every time.
  const cluster = await TestCluster.start(t)
  const reader = cluster.clientWith({ readQuorum: 3, writeQuorum: 1 })
  const body = randomBytes(2 * 1024 * 1024)
  const written = await cluster.client.put(path('rot'), bytesOf(body))
  await cluster.untilEveryReplicaHas(path('rot'), written.timestamp)
  const partition = cluster.ring.partition('AUTH_test', 'c', 'rot')
  const first = cluster.ring.primaries(partition)[0]!
  const node = cluster.nodes.find((n) => n.port === first.port)!
  const [file] = await dataFiles(node.devicePath)
  t.truthy(file)
  const bytes = await readFile(file!)
  bytes[1_500_000] = bytes[1_500_000]! ^ 0xff
  await writeFile(file!, bytes)

  const read = await reader.get(path('rot'))
  t.is(sha256(await collect(read.body)), sha256(body), 'the bytes served are the right ones')
  t.deepEqual(await dataFiles(node.devicePath), [], 'the corrupt replica left the object store')
  const quarantined = await readdir(join(node.devicePath, 'quarantine'), { recursive: true })
  t.true(quarantined.length > 0, 'and sits in quarantine')
})

test.serial('a stalled node (SIGSTOP) is dropped once it lags the others; writes and reads go on without it', async (t) => {
  const cluster = await TestCluster.start(t, { client: { nodeTimeoutMs: 1_000 } })
  const stalled = cluster.nodes[2]!.process!.child
  stalled.kill('SIGSTOP')
  t.teardown(() => { stalled.kill('SIGCONT') })
  const body = randomBytes(12 * 1024 * 1024)
  const put = await cluster.client.put(path('while-stalled'), bytesOf(body))
  t.is(put.size, body.length)
  sameBytes(t, await collect((await cluster.client.get(path('while-stalled'))).body), body)
})

test.serial('a read whose node stalls mid-stream (SIGSTOP) resumes on another replica at the same byte', async (t) => {
  // R = 3 makes the read start on the first primary in ring order, the one stopped below.
  const cluster = await TestCluster.start(t)
  const reader = cluster.clientWith({ readQuorum: 3, writeQuorum: 1, nodeTimeoutMs: 1_000 })
  const body = randomBytes(48 * 1024 * 1024)
  const written = await cluster.client.put(path('stall-mid-read'), bytesOf(body))
  await cluster.untilEveryReplicaHas(path('stall-mid-read'), written.timestamp)
  const first = cluster.ring.primaries(cluster.ring.partition('AUTH_test', 'c', 'stall-mid-read'))[0]!
  const stalled = cluster.nodes.find((n) => n.port === first.port)!.process!.child
  t.teardown(() => { stalled.kill('SIGCONT') })
  const read = await reader.get(path('stall-mid-read'))
  const parts: Buffer[] = []
  for await (const part of read.body) {
    if (parts.length === 0) stalled.kill('SIGSTOP')
    parts.push(part)
  }
  sameBytes(t, Buffer.concat(parts), body, 'every byte, once, in order')
})
