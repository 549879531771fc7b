import test, { type ExecutionContext } from 'ava'
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import xxhash from 'xxhash-wasm'
import { StorageError } from '../../storage/errors.ts'
import { BLOCK_SIZE, FOOTER_BYTES } from '../../storage/object-file-format.ts'
import { ObjectFileReader } from '../../storage/object-file-reader.ts'
import { ObjectFileWriter } from '../../storage/object-file-writer.ts'
import { collect, pattern } from './node-process.ts'

const hasher = await xxhash()

async function scratch (t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-file-'))
  t.teardown(async () => await rm(dir, { recursive: true, force: true }))
  return dir
}

async function writeFileOf (path: string, body: Buffer, chunk: number): Promise<void> {
  const writer = new ObjectFileWriter(path, hasher)
  for (let at = 0; at < body.length; at += chunk) await writer.write(body.subarray(at, at + chunk))
  await writer.finish({ name: '/a/c/o', timestamp: 7n, deleted: false, metadata: { k: 'v' } })
}

for (const [size, chunk] of [[0, 1], [1, 1], [BLOCK_SIZE, 1000], [BLOCK_SIZE + 1, 4096], [1024 * 1024 + 3, 333_333], [20 * 1024 * 1024 + 9, 1024 * 1024]] as const) {
  test(`${size} bytes written in ${chunk}-byte chunks read back verified`, async (t) => {
    const path = join(await scratch(t), 'f.data')
    const body = pattern(size, size)
    await writeFileOf(path, body, chunk)
    const sums = Math.ceil(size / BLOCK_SIZE) * 8
    t.true((await stat(path)).size > size + sums + FOOTER_BYTES)
    const reader = await ObjectFileReader.open(path, hasher)
    t.teardown(async () => await reader.close())
    t.like(reader.meta, { name: '/a/c/o', timestamp: 7n, size, deleted: false, metadata: { k: 'v' } })
    t.is(reader.meta.checksum, hasher.h64Raw(body).toString(16).padStart(16, '0'))
    t.true((await collect(reader.read(0, size, 1024 * 1024))).equals(body))
    const from = Math.floor(size / 3)
    const to = Math.min(size, from + 200_001)
    t.true((await collect(reader.read(from, to, 65_536))).equals(body.subarray(from, to)))
  })
}

test('a bad block is refused before any of its bytes are returned', async (t) => {
  const path = join(await scratch(t), 'f.data')
  const body = pattern(5 * BLOCK_SIZE, 3)
  await writeFileOf(path, body, 100_000)
  const handle = await open(path, 'r+')
  await handle.write(Buffer.from([body[3 * BLOCK_SIZE + 17]! ^ 1]), 0, 1, 3 * BLOCK_SIZE + 17)
  await handle.close()
  const reader = await ObjectFileReader.open(path, hasher)
  t.teardown(async () => await reader.close())
  const pieces: Buffer[] = []
  const error = await t.throwsAsync(async () => {
    for await (const piece of reader.read(0, body.length, BLOCK_SIZE)) pieces.push(piece)
  }, { instanceOf: StorageError })
  t.is(error?.code, 'Corrupt')
  t.regex(error?.message ?? '', /block 3/)
  t.true(Buffer.concat(pieces).equals(body.subarray(0, 3 * BLOCK_SIZE)))
})

test('a truncated file is Corrupt at open', async (t) => {
  const path = join(await scratch(t), 'f.data')
  await writeFileOf(path, pattern(1000), 1000)
  const bytes = await readFile(path)
  const handle = await open(path, 'r+')
  await handle.truncate(bytes.length - 1)
  await handle.close()
  const error = await t.throwsAsync(ObjectFileReader.open(path, hasher), { instanceOf: StorageError })
  t.is(error?.code, 'Corrupt')
})

test('a discarded writer leaves nothing behind', async (t) => {
  const path = join(await scratch(t), 'f.tmp')
  const writer = new ObjectFileWriter(path, hasher)
  await writer.write(pattern(3 * 1024 * 1024))
  await t.notThrowsAsync(stat(path))
  await writer.discard()
  await t.throwsAsync(stat(path))
})
