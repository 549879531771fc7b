import test from 'ava'
import { randomUUID } from 'node:crypto'
import { FROZEN_EPOCH, type ChunkStore, type ChunkVersion } from '../../storage/chunks/index.ts'
import { StorageError } from '../../storage/index.ts'
import { sameBytes } from '../helpers/cluster.ts'
import { bytes, KiB, startChunkCluster } from './chunk-cluster.ts'

const CHUNK = 64 * KiB

async function write (store: ChunkStore, layer: string, index: number, prev: ChunkVersion | null, next: ChunkVersion): Promise<void> {
  await store.write({ chunk: { layer, index }, chunkSize: CHUNK, write: { kind: 'data', offset: 0, data: bytes(CHUNK, next.seq) }, prev, next, fua: false })
}

test('a fence refuses lower epochs; a write above the fence raises it; FROZEN_EPOCH freezes the layer', async (t) => {
  const { store } = await startChunkCluster(t)
  const layer = randomUUID()
  await write(store, layer, 0, null, { epoch: 4, seq: 1 })
  await store.fence(layer, 5)

  const fenced = await t.throwsAsync(write(store, layer, 0, { epoch: 4, seq: 1 }, { epoch: 4, seq: 2 }))
  t.is((fenced as StorageError).code, 'StaleEpoch')
  const fresh = await t.throwsAsync(write(store, layer, 9, null, { epoch: 4, seq: 3 }))
  t.is((fresh as StorageError).code, 'StaleEpoch', 'a chunk the new writer never touched is fenced too')

  await write(store, layer, 0, { epoch: 4, seq: 1 }, { epoch: 5, seq: 1 })
  await write(store, layer, 1, null, { epoch: 7, seq: 1 })
  const raised = await t.throwsAsync(write(store, layer, 0, { epoch: 5, seq: 1 }, { epoch: 6, seq: 1 }))
  t.is((raised as StorageError).code, 'StaleEpoch', 'epoch 7 wrote, so 6 is fenced off')
  const lower = await t.throwsAsync(store.fence(layer, 6))
  t.is((lower as StorageError).code, 'StaleEpoch', 'a fence does not go down')
  await store.fence(layer, 7)

  await store.fence(layer, FROZEN_EPOCH)
  const frozen = await t.throwsAsync(write(store, layer, 0, { epoch: 5, seq: 1 }, { epoch: 8, seq: 1 }))
  t.is((frozen as StorageError).code, 'StaleEpoch')
  sameBytes(t, await store.read({ layer, index: 1 }, CHUNK, { epoch: 7, seq: 1 }, 0, CHUNK), bytes(CHUNK, 1), 'a frozen layer still reads')
  const bad = await t.throwsAsync(write(store, layer, 2, null, { epoch: FROZEN_EPOCH, seq: 1 }))
  t.is((bad as StorageError).code, 'InvalidArgument', 'nobody writes at the frozen epoch itself')
})
