import test from 'ava'
import { randomUUID } from 'node:crypto'
import { Registry } from 'prom-client'
import { setTimeout as sleep } from 'node:timers/promises'
import { ChunkStateError, ReplicatedChunkStore, type ChunkRef } from '../../storage/chunks/index.ts'
import { StorageError } from '../../storage/index.ts'
import { silentLogger } from '../../lib/logger.ts'
import { sameBytes } from '../helpers/cluster.ts'
import { KiB, startChunkCluster } from './chunk-cluster.ts'
import { ChunkModel } from './chunk-model.ts'

const CHUNK = 64 * KiB
const CHUNKS = 12

/** The error `op` ends with once the node answers at all (a restarted node's client may first see it unreachable). */
async function refusal (op: () => Promise<unknown>): Promise<unknown> {
  const deadline = Date.now() + 10_000
  for (;;) {
    try {
      await op()
      return undefined
    } catch (err) {
      if (!(err instanceof StorageError && err.code === 'Unavailable') || Date.now() > deadline) return err
      await sleep(100)
    }
  }
}

test('kill -9 of a node during a stream of writes fails none; back up, it serves nothing stale and the next write repairs it', async (t) => {
  const { cluster, node, partition } = await startChunkCluster(t)
  const metrics = new Registry()
  const store = new ReplicatedChunkStore({ placement: { current: () => cluster.ring }, logger: silentLogger(), metrics },
    { nodeTimeoutMs: 2_000, suppressMs: 500 })
  t.teardown(() => store.close())
  const model = new ChunkModel(store, randomUUID(), CHUNK)
  for (let i = 0; i < CHUNKS; i++) await model.whole(i, i + 1)

  let written = 0
  const stream = Promise.all(Array.from({ length: 6 }, async (_, worker) => {
    for (let n = 0; n < 40; n++) {
      await model.scribble((worker * 7 + n) % CHUNKS, 1000 + worker * 100 + n)
      written++
    }
  }))
  while (written < 60) await sleep(5)
  await cluster.stopNode(0)
  await stream
  t.deepEqual(await model.verify(), [], 'every write landed on the live replicas')
  // Writes while it is down, so it surely misses some.
  for (let i = 0; i < CHUNKS; i++) await model.scribble(i, 5000 + i)

  await cluster.startNode(0)
  const dead = node(0)
  const ref = (index: number): { device: string, partition: number, layer: string, index: number } =>
    ({ device: 'd1', partition: partition({ layer: model.layer, index }), layer: model.layer, index })
  for (let i = 0; i < CHUNKS; i++) {
    const missed = await refusal(async () => await dead.read({ chunk: ref(i), chunkSize: CHUNK, version: model.version(i), offset: 0, length: CHUNK }))
    t.true(missed instanceof ChunkStateError && missed.code === 'VersionMismatch', `chunk ${i}: ${String(missed)}`)
  }
  t.deepEqual(await model.verify(), [], 'reads go past the stale replica')

  // Once the client reaches it again (reconnect, suppression over), a partial write brings it up to date.
  const deadline = Date.now() + 20_000
  for (let i = 0; i < CHUNKS; i++) {
    for (let attempt = 0; ; attempt++) {
      await model.scribble(i, 9000 + i * 10 + attempt)
      const held = await dead.read({ chunk: ref(i), chunkSize: CHUNK, version: model.version(i), offset: 0, length: CHUNK }).catch(() => undefined)
      if (held !== undefined) {
        sameBytes(t, held, model.data(i), `chunk ${i} on the repaired node`)
        break
      }
      if (Date.now() > deadline) t.fail(`chunk ${i} never repaired`)
      await sleep(100)
    }
  }
  const repairs = (await metrics.getSingleMetric('ringstack_chunk_client_repairs_total')?.get())?.values[0]?.value ?? 0
  t.true(repairs >= CHUNKS, `repairs counted: ${repairs}`)
})

test('with 4 nodes, a dead primary\'s share of a write goes to a handoff, which gets the whole chunk', async (t) => {
  const { cluster, store, node, primaries, partition } = await startChunkCluster(t, { nodes: 4 })
  const model = new ChunkModel(store, randomUUID(), CHUNK)
  const chunk: ChunkRef = { layer: model.layer, index: 5 }
  await model.whole(5, 1)
  const replicas = primaries(chunk)
  t.is(replicas.length, 3)
  const handoff = [0, 1, 2, 3].find((i) => !replicas.some((r) => r.node === i))!
  await cluster.stopNode(replicas[0]!.node)

  const version = await model.scribble(5, 2)
  const held = await node(handoff).read({
    chunk: { device: 'd1', partition: partition(chunk), layer: model.layer, index: 5 }, chunkSize: CHUNK, version, offset: 0, length: CHUNK
  })
  sameBytes(t, held, model.data(5), 'the handoff holds the whole chunk at the new version')
  t.deepEqual(await model.verify(), [])
  const scanned = await store.scan(model.layer)
  t.deepEqual(scanned.get(5), { version, hole: false }, 'scan with one node down')
})

test('scan merges the newest version per chunk with one node down and fails with two down', async (t) => {
  const { cluster, store } = await startChunkCluster(t)
  const model = new ChunkModel(store, randomUUID(), CHUNK)
  for (let i = 0; i < 6; i++) await model.whole(i, i)
  await cluster.stopNode(2)
  for (let i = 0; i < 6; i += 2) await model.scribble(i, 100 + i)
  await model.write(3, { kind: 'trim' })
  // The nodes that were down for the writes and up for the scan must not win with their older versions.
  await cluster.startNode(2)
  await cluster.stopNode(0)
  const scanned = await store.scan(model.layer)
  t.is(scanned.size, 6)
  for (let i = 0; i < 6; i++) {
    if (i === 3) t.true(scanned.get(3)?.hole, 'the trim is the newest state of chunk 3')
    else t.deepEqual(scanned.get(i), { version: model.version(i), hole: false }, `chunk ${i}`)
  }
  await cluster.stopNode(1)
  const refused = await t.throwsAsync(store.scan(model.layer))
  t.is((refused as StorageError).code, 'Unavailable')
  const write = await t.throwsAsync(model.scribble(0, 7))
  t.is((write as StorageError).code, 'Unavailable', 'one replica is not enough for a write either')
})

test('a frozen node (SIGSTOP) costs a write nodeTimeoutMs, not forever; fence and scan go on without it', async (t) => {
  const { cluster, store } = await startChunkCluster(t, { store: { nodeTimeoutMs: 1_000 } })
  const model = new ChunkModel(store, randomUUID(), CHUNK)
  await model.whole(0, 1)
  const frozen = cluster.nodes[1]!.process!.child
  frozen.kill('SIGSTOP')
  t.teardown(() => { frozen.kill('SIGCONT') })
  for (let i = 0; i < 3; i++) await model.scribble(0, 10 + i)
  t.deepEqual(await model.verify(), [])
  await store.fence(model.layer, 1)
  t.is((await store.scan(model.layer)).get(0)?.version.seq, model.version(0).seq)
  frozen.kill('SIGCONT')
  await model.scribble(0, 20)
  t.deepEqual(await model.verify(), [])
})
