import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import test from 'ava'
import { BLOCK } from './memory-exports.ts'
import { MiB, run, runOk, startNbd } from './harness.ts'

const SIZE = 256 * MiB

/** A raw image: random 1 MiB extents every 4 MiB, the rest never written (a sparse file). Returns how many bytes are data. */
async function writeSparseImage (path: string, size: number): Promise<number> {
  const handle = await open(path, 'w')
  let data = 0
  try {
    await handle.truncate(size)
    for (let offset = 0; offset < size; offset += 4 * MiB) {
      await handle.write(randomBytes(MiB), 0, MiB, offset)
      data += MiB
    }
  } finally {
    await handle.close()
  }
  return data
}

async function sha256 (path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

test('nbdcopy: a 256 MiB sparse image in and back out, checksums equal, holes stay holes', async (t) => {
  const h = await startNbd(t, [{ name: 'vol', size: SIZE }])
  const source = join(h.dir, 'source.img')
  const back = join(h.dir, 'back.img')
  const dataBytes = await writeSparseImage(source, SIZE)
  await runOk('nbdcopy', [source, h.uri('vol')], { timeoutMs: 60_000 })
  await runOk('nbdcopy', [h.uri('vol'), back], { timeoutMs: 60_000 })
  t.is(await sha256(back), await sha256(source))
  // nbdcopy skips (or zeroes with holes) what the sparse source does not have.
  t.is(h.exports.store('vol').blocks.size, dataBytes / BLOCK)
  t.is(h.exports.openDevices, 0)
})

test('qemu-img convert to the export, then compare: identical; one changed byte: different', async (t) => {
  const h = await startNbd(t, [{ name: 'vol', size: 64 * MiB }])
  const source = join(h.dir, 'source.img')
  await writeSparseImage(source, 64 * MiB)
  await runOk('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', source, h.uri('vol')], { timeoutMs: 60_000 })
  const same = await run('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', source, h.uri('vol')])
  t.is(same.code, 0, same.stderr)
  t.regex(same.stdout, /Images are identical/)
  await runOk('qemu-io', ['-f', 'raw', '-c', 'write -P 0x5a 5M 512', h.uri('vol')])
  const differ = await run('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', source, h.uri('vol')])
  t.is(differ.code, 1)
  t.regex(differ.stdout, /Content mismatch at offset 5242880/)
})
