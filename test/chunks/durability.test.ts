import test from 'ava'
import { randomUUID } from 'node:crypto'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { chunkFile } from '../../storage/chunks/index.ts'
import { StorageError } from '../../storage/index.ts'
import { sameBytes } from '../helpers/cluster.ts'
import { KiB, startChunkCluster } from './chunk-cluster.ts'
import { ChunkModel } from './chunk-model.ts'

const CHUNK = 64 * KiB

test('FUA writes and flushed writes are in the chunk files after kill -9; the index survives it too', async (t) => {
  const { cluster, store, primaries, partition } = await startChunkCluster(t)
  const model = new ChunkModel(store, randomUUID(), CHUNK)
  await model.scribble(0, 1, true)
  await model.scribble(0, 2, true)
  await model.write(0, { kind: 'zero', offset: 100, length: 1000 }, true)
  for (let i = 0; i < 5; i++) await model.scribble(1, 10 + i)
  await model.whole(2, 20)
  await model.write(2, { kind: 'trim' })
  await store.flush(model.layer)

  await Promise.all(cluster.nodes.map(async (_, i) => await cluster.stopNode(i)))
  for (const index of [0, 1]) {
    const chunk = { layer: model.layer, index }
    for (const { node } of primaries(chunk)) {
      const file = chunkFile(cluster.nodes[node]!.devicePath, partition(chunk), model.layer, index)
      sameBytes(t, await readFile(file), model.data(index), `chunk ${index} on ${cluster.nodes[node]!.id}`)
      t.is((await stat(file)).size, CHUNK, 'chunk files are chunk-sized')
    }
  }
  for (const { node } of primaries({ layer: model.layer, index: 2 })) {
    const file = chunkFile(cluster.nodes[node]!.devicePath, partition({ layer: model.layer, index: 2 }), model.layer, 2)
    await t.throwsAsync(stat(file), { code: 'ENOENT' }, 'a trimmed chunk has no file')
  }

  await Promise.all(cluster.nodes.map(async (_, i) => await cluster.startNode(i)))
  t.deepEqual(await model.verify(), [], 'versions and bytes as acknowledged')
  t.true((await store.scan(model.layer)).get(2)?.hole)
})

test('drop deletes every chunk file of the layer and freezes it for good', async (t) => {
  const { cluster, store } = await startChunkCluster(t)
  const model = new ChunkModel(store, randomUUID(), CHUNK)
  const other = new ChunkModel(store, randomUUID(), CHUNK)
  for (let i = 0; i < 8; i++) {
    await model.scribble(i, i)
    await other.scribble(i, i)
  }
  const filesOf = async (layer: string): Promise<string[]> => {
    const found: string[] = []
    for (const node of cluster.nodes) {
      const root = join(node.devicePath, 'chunks')
      for (const partition of await readdir(root)) {
        const files = await readdir(join(root, partition, layer)).catch(() => [])
        found.push(...files.map((f) => join(root, partition, layer, f)))
      }
    }
    return found
  }
  t.is((await filesOf(model.layer)).length, 8 * 3)

  await store.drop(model.layer)
  t.deepEqual(await filesOf(model.layer), [])
  t.is((await store.scan(model.layer)).size, 0)
  const late = await t.throwsAsync(model.scribble(0, 99))
  t.is((late as StorageError).code, 'StaleEpoch', 'a late writer cannot bring the layer back')
  await store.drop(model.layer)
  t.is((await filesOf(other.layer)).length, 8 * 3, 'other layers keep their chunks')
  t.deepEqual(await other.verify(), [])

  await cluster.stopNode(0)
  const refused = await t.throwsAsync(store.drop(other.layer))
  t.is((refused as StorageError).code, 'Unavailable', 'drop needs every node')
})
