import test from 'ava'
import { HybridClock } from '../../storage/index.ts'
import { collect, NodeProcess, pattern, ref, rejectsWith } from './node-process.ts'

const clock = new HybridClock()
const SIZE = 3 * 1024 * 1024 + 777
const body = pattern(SIZE, 42)
let node: NodeProcess
let stamp: bigint

test.before(async () => {
  node = await NodeProcess.create()
  await node.launch()
  stamp = clock.tick()
  const put = node.client().put(ref('ranged'), { timestamp: stamp, size: SIZE })
  await put.write(body)
  await put.finish()
})

test.after.always(async () => {
  await node?.destroy()
})

async function read (offset?: number, length?: number): Promise<Buffer> {
  const stream = await node.client().get(ref('ranged'), { offset, length })
  return await collect(stream.body)
}

const ranges: Array<[string, number, number | undefined, number, number]> = [
  ['first byte', 0, 1, 0, 1],
  ['last byte', SIZE - 1, 1, SIZE - 1, SIZE],
  ['middle, across block boundaries', 65_000, 200_000, 65_000, 265_000],
  ['one whole block', 65_536, 65_536, 65_536, 131_072],
  ['from an offset to the end', 1_234_567, undefined, 1_234_567, SIZE],
  ['past the end is clipped', SIZE - 10, 1000, SIZE - 10, SIZE],
  ['more than a message', 10, 2 * 1024 * 1024 + 5, 10, 2 * 1024 * 1024 + 15],
  ['empty range', 100, 0, 100, 100]
]

for (const [title, offset, length, start, end] of ranges) {
  test(`range: ${title}`, async (t) => {
    const bytes = await read(offset, length)
    t.is(bytes.length, end - start)
    t.true(bytes.equals(body.subarray(start, end)))
  })
}

test('an offset at or past the end is InvalidArgument', async (t) => {
  await rejectsWith(t, read(SIZE, 1), 'InvalidArgument', /range not satisfiable/)
  await rejectsWith(t, read(SIZE + 100), 'InvalidArgument', /range not satisfiable/)
})

test('negative offsets and lengths other than -1 are InvalidArgument', async (t) => {
  await rejectsWith(t, read(-1, 10), 'InvalidArgument', /offset/)
  await rejectsWith(t, read(0, -2), 'InvalidArgument', /length/)
})

test('the whole of an empty object reads fine; a range of it does not', async (t) => {
  const client = node.client()
  const put = client.put(ref('empty'), { timestamp: clock.tick(), size: 0 })
  await put.finish()
  t.is((await collect((await client.get(ref('empty'))).body)).length, 0)
  await rejectsWith(t, client.get(ref('empty'), { offset: 0, length: 1 }), 'InvalidArgument', /range not satisfiable/)
})

test('a read pinned to a version fails once the object changed', async (t) => {
  const client = node.client()
  const pinned = await client.get(ref('ranged'), { timestamp: stamp, offset: 5, length: 5 })
  t.true((await collect(pinned.body)).equals(body.subarray(5, 10)))
  await rejectsWith(t, client.get(ref('ranged'), { timestamp: stamp + 1n }), 'VersionMismatch')
  await rejectsWith(t, client.get(ref('absent'), { timestamp: stamp }), 'VersionMismatch')
})

test('cancel() stops a read early without an error', async (t) => {
  const stream = await node.client().get(ref('ranged'))
  let received = 0
  for await (const chunk of stream.body) {
    received += chunk.length
    stream.cancel()
  }
  t.true(received > 0 && received < SIZE)
  t.true((await node.client().head(ref('ranged'))).exists)
})
