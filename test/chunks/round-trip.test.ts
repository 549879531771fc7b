import test from 'ava'
import { randomUUID } from 'node:crypto'
import { ChunkStateError, type ChunkVersion } from '../../storage/chunks/index.ts'
import { StorageError } from '../../storage/index.ts'
import { sameBytes } from '../helpers/cluster.ts'
import { bytes, KiB, startChunkCluster } from './chunk-cluster.ts'

const CHUNK = 64 * KiB

test('partial writes at odd offsets, zeroes and trims read back as a model of the chunk says', async (t) => {
  const { store } = await startChunkCluster(t)
  const layer = randomUUID()
  const chunk = { layer, index: 7 }
  const model = Buffer.alloc(CHUNK)
  let prev: ChunkVersion | null = null
  let seq = 0
  const write = async (w: Parameters<typeof store.write>[0]['write']): Promise<ChunkVersion> => {
    const next = { epoch: 1, seq: ++seq }
    await store.write({ chunk, chunkSize: CHUNK, write: w, prev, next, fua: false })
    prev = w.kind === 'trim' ? null : next
    return next
  }

  let version = await write({ kind: 'data', offset: 1234, data: bytes(777, 1) })
  bytes(777, 1).copy(model, 1234)
  sameBytes(t, await store.read(chunk, CHUNK, version, 0, CHUNK), model, 'first partial write onto nothing')

  version = await write({ kind: 'data', offset: CHUNK - 5, data: bytes(5, 2) })
  bytes(5, 2).copy(model, CHUNK - 5)
  version = await write({ kind: 'zero', offset: 1500, length: 100 })
  model.fill(0, 1500, 1600)
  sameBytes(t, await store.read(chunk, CHUNK, version, 1000, 1000), model.subarray(1000, 2000), 'a range')
  sameBytes(t, await store.read(chunk, CHUNK, version, 0, CHUNK), model, 'after zeroing')

  const scanned = await store.scan(layer)
  t.deepEqual(scanned.get(7), { version, hole: false })

  const trimmed = await write({ kind: 'trim' })
  t.deepEqual((await store.scan(layer)).get(7), { version: trimmed, hole: true })
  // A write onto the hole starts from zeroes, not from what was there.
  version = await write({ kind: 'data', offset: 10, data: bytes(10, 3) })
  const fresh = Buffer.alloc(CHUNK)
  bytes(10, 3).copy(fresh, 10)
  sameBytes(t, await store.read(chunk, CHUNK, version, 0, CHUNK), fresh, 'after trim and a partial write')

  const whole = bytes(CHUNK, 4)
  version = await write({ kind: 'data', offset: 0, data: whole })
  sameBytes(t, await store.read(chunk, CHUNK, version, 0, CHUNK), whole, 'whole chunk')

  const stale = await t.throwsAsync(store.read(chunk, CHUNK, { epoch: 1, seq: 1 }, 0, 16))
  t.true(stale instanceof ChunkStateError && stale.code === 'VersionMismatch', String(stale))
  t.deepEqual((stale as ChunkStateError).stored?.version, version, 'says what the replicas hold')
})

test('nodes refuse a partial write that does not follow their version, take a whole one, and refuse going back', async (t) => {
  const { store, node, primaries, partition } = await startChunkCluster(t)
  const chunk = { layer: randomUUID(), index: 3 }
  const v1 = { epoch: 2, seq: 1 }
  await store.write({ chunk, chunkSize: CHUNK, write: { kind: 'data', offset: 0, data: bytes(CHUNK, 1) }, prev: null, next: v1, fua: true })
  const [first] = primaries(chunk)
  const client = node(first!.node)
  const id = { device: first!.device.device, partition: partition(chunk), layer: chunk.layer, index: chunk.index }
  const partial = (prev: ChunkVersion | null, next: ChunkVersion, offset = 100): Promise<void> => client.write({
    chunk: id, chunkSize: CHUNK, offset, data: bytes(10, 9), prev, next: { ...next }, fua: false
  })

  const refused = await t.throwsAsync(partial({ epoch: 1, seq: 9 }, { epoch: 2, seq: 2 }))
  t.true(refused instanceof ChunkStateError && refused.code === 'StaleChunk', String(refused))
  t.deepEqual((refused as ChunkStateError).stored, { version: v1, hole: false })
  const onNothing = await t.throwsAsync(partial(null, { epoch: 2, seq: 2 }))
  t.is((onNothing as StorageError).code, 'StaleChunk', 'null prev does not follow a chunk with data')

  await client.write({ chunk: id, chunkSize: CHUNK, offset: 0, data: bytes(CHUNK, 5), prev: { epoch: 1, seq: 1 }, next: { epoch: 2, seq: 3 }, fua: false })
  sameBytes(t, await client.read({ chunk: id, chunkSize: CHUNK, version: { epoch: 2, seq: 3 }, offset: 0, length: CHUNK }), bytes(CHUNK, 5),
    'a whole-chunk write is taken on top of anything older')

  const older = await t.throwsAsync(partial({ epoch: 2, seq: 3 }, { epoch: 2, seq: 3 }))
  t.is((older as StorageError).code, 'Conflict', 'next must be newer than what the node holds')
  const wrongSize = await t.throwsAsync(client.write({ chunk: id, chunkSize: CHUNK * 2, offset: 0, data: bytes(10, 1), prev: { epoch: 2, seq: 3 }, next: { epoch: 2, seq: 4 }, fua: false }))
  t.is((wrongSize as StorageError).code, 'InvalidArgument')
  const mismatch = await t.throwsAsync(client.read({ chunk: id, chunkSize: CHUNK, version: v1, offset: 0, length: 10 }))
  t.is((mismatch as StorageError).code, 'VersionMismatch')
})
