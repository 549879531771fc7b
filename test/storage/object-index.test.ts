import test from 'ava'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ObjectIndex, type IndexEntry } from '../../storage/object-index.ts'

function entry (name: string, timestamp: bigint): IndexEntry {
  return { name, timestamp, size: 1, checksum: '0'.repeat(16), deleted: false, metadata: {}, file: `${name}.data` }
}

test('one partition is one key range; writes batch and survive a reopen', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-index-'))
  t.teardown(async () => await rm(dir, { recursive: true, force: true }))
  let index = await ObjectIndex.open(join(dir, 'index'))
  const hash = (i: number): string => i.toString(16).padStart(32, '0')
  await Promise.all([
    ...[1, 2, 3].map(async (i) => await index.put(0x2f, hash(i), entry(`p2f-${i}`, BigInt(i)))),
    ...[1, 2].map(async (i) => await index.put(0x30, hash(i), entry(`p30-${i}`, BigInt(i)))),
    index.put(0x2f0, hash(9), entry('p2f0', 9n)),
    index.put(0xffffffff, hash(1), entry('last', 2n ** 63n))
  ])
  await index.del(0x2f, hash(2))
  const names = async (partition: number): Promise<string[]> => {
    const found: string[] = []
    for await (const { entry } of index.partition(partition)) found.push(entry.name)
    return found
  }
  t.deepEqual(await names(0x2f), ['p2f-1', 'p2f-3'])
  t.deepEqual(await names(0x30), ['p30-1', 'p30-2'])
  t.deepEqual(await names(0x2f0), ['p2f0'])
  await index.syncAndClose()

  index = await ObjectIndex.open(join(dir, 'index'))
  t.teardown(async () => await index.close())
  t.deepEqual(index.get(0xffffffff, hash(1)), entry('last', 2n ** 63n))
  t.is(index.get(0x2f, hash(2)), undefined)
  const all: number[] = []
  for await (const { partition } of index.entries()) all.push(partition)
  t.deepEqual(all, [0x2f, 0x2f, 0x30, 0x30, 0x2f0, 0xffffffff])
})
