import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import test from 'ava'
import { allInOneForFile } from '../helpers/all-in-one.ts'
import { qemuIo, tool } from './tools.ts'

const cluster = allInOneForFile(test)

const MiB = 1024 * 1024

async function sha256 (path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

test('qemu-io patterns with flush and FUA; unwritten space reads as zeroes and nbdinfo maps it as holes', async (t) => {
  const c = cluster()
  const vol = await c.volume<{ id: string }>('create', 'io', '--size', '64M')
  const uri = c.nbdUri(vol.id)
  const written = await qemuIo(uri,
    'write -P 0xa1 0 1M', 'write -P 0xb2 5M 512', 'write -f -P 0xc3 20M 4k', 'flush', 'write -z 30M 4M')
  t.is(written.code, 0, written.stderr + written.stdout)
  const read = await qemuIo(uri, 'read -P 0xa1 0 1M', 'read -P 0xb2 5M 512', 'read -P 0 5243392 4k', 'read -P 0xc3 20M 4k', 'read -P 0 40M 8M')
  t.is(read.code, 0, read.stderr + read.stdout)
  const mismatch = await qemuIo(uri, 'read -P 0xff 0 4k')
  t.not(mismatch.code, 0, 'qemu-io notices a wrong pattern, so the checks above mean something')

  const info = await tool('nbdinfo', ['--json', uri])
  t.is(info.code, 0, info.stderr)
  const exp = (JSON.parse(info.stdout) as { exports: Array<Record<string, unknown>> }).exports[0]!
  t.is(exp['export-size'], 64 * MiB)
  t.is(exp['block_size_minimum'], 512)
  t.true(exp['can_flush'] === true && exp['can_fua'] === true && exp['can_trim'] === true && exp['can_zero'] === true)

  const map = await tool('nbdinfo', ['--map', '--json', uri])
  t.is(map.code, 0, map.stderr)
  const extents = JSON.parse(map.stdout) as Array<{ offset: number, length: number, type: number }>
  const at = (offset: number): number => extents.find((e) => e.offset <= offset && offset < e.offset + e.length)!.type
  t.is(at(0) & 1, 0, 'written data is allocated')
  t.is(at(48 * MiB) & 3, 3, 'never-written space is a hole that reads as zeroes')
  t.is(at(30 * MiB) & 1, 1, 'write -z on never-written space stays a hole')

  const trimmed = await qemuIo(uri, 'discard 0 4M', 'read -P 0 0 4M')
  t.is(trimmed.code, 0, trimmed.stderr + trimmed.stdout)
  const after = JSON.parse((await tool('nbdinfo', ['--map', '--json', uri])).stdout) as Array<{ offset: number, length: number, type: number }>
  t.is(after.find((e) => e.offset === 0)!.type & 1, 1, 'a discarded chunk is a hole again')
})

test('nbdcopy a 256 MiB volume in and out, qemu-img convert and compare: checksums match', async (t) => {
  const c = cluster()
  const vol = await c.volume<{ id: string }>('create', 'copy', '--size', '256M')
  const uri = c.nbdUri(vol.id)
  const source = join(c.dir, 'source.img')
  // Random data with a hole in the middle, so both data and zero runs travel.
  const image = Buffer.alloc(256 * MiB)
  randomBytes(100 * MiB).copy(image, 0)
  randomBytes(100 * MiB).copy(image, 156 * MiB)
  await writeFile(source, image)
  const copyIn = await tool('nbdcopy', ['--flush', source, uri], 300_000)
  t.is(copyIn.code, 0, copyIn.stderr)
  const back = join(c.dir, 'back.img')
  const copyOut = await tool('nbdcopy', [uri, back], 300_000)
  t.is(copyOut.code, 0, copyOut.stderr)
  t.is(await sha256(back), await sha256(source), 'what comes out is what went in')
  const compare = await tool('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', source, uri], 300_000)
  t.is(compare.code, 0, compare.stdout + compare.stderr)

  const vol2 = await c.volume<{ id: string }>('create', 'convert', '--size', '256M')
  const qcow = join(c.dir, 'source.qcow2')
  t.is((await tool('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', source, qcow])).code, 0)
  const convert = await tool('qemu-img', ['convert', '-n', '-f', 'qcow2', '-O', 'raw', qcow, c.nbdUri(vol2.id)], 300_000)
  t.is(convert.code, 0, convert.stderr)
  const compare2 = await tool('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', qcow, c.nbdUri(vol2.id)], 300_000)
  t.is(compare2.code, 0, compare2.stdout + compare2.stderr)
})

test('nbdsh on a real volume: 64 requests in flight, out-of-range and misaligned refusals, a client dropping with reads in flight', async (t) => {
  const c = cluster()
  const vol = await c.volume<{ id: string }>('create', 'edges', '--size', '32M')
  const uri = c.nbdUri(vol.id)
  const run = await tool('nbdsh', ['-c', `
h.set_strict_mode(0)
h.connect_uri(${JSON.stringify(uri)})
size = h.get_size()
bufs = []
for i in range(64):
    buf = nbd.Buffer.from_bytearray(bytearray([i + 1]) * 65536)
    bufs.append(buf)
    h.aio_pwrite(buf, i * 262144)
while h.aio_in_flight() > 0:
    h.poll(-1)
reads = [h.aio_pread(nbd.Buffer(65536), i * 262144) for i in range(64)]
while h.aio_in_flight() > 0:
    h.poll(-1)
print("concurrent ok:", all(h.pread(65536, i * 262144) == bytes([i + 1]) * 65536 for i in range(64)))
for what, call in [("read past end", lambda: h.pread(4096, size - 512)),
                   ("write past end", lambda: h.pwrite(b"x" * 4096, size - 512)),
                   ("misaligned read", lambda: h.pread(512, 100))]:
    try:
        call()
        print(what, "accepted")
    except nbd.Error as e:
        print(what, e.errno)
`])
  t.regex(run.stdout, /concurrent ok: True/, run.stdout + run.stderr)
  t.regex(run.stdout, /read past end EINVAL/)
  t.regex(run.stdout, /write past end ENOSPC/)
  t.regex(run.stdout, /misaligned read EINVAL/)

  for (let i = 0; i < 3; i++) {
    // Big reads queued, then the client vanishes without NBD_CMD_DISC.
    const drop = await tool('nbdsh', ['-c', `
import os
h.connect_uri(${JSON.stringify(uri)})
for j in range(16):
    h.aio_pread(nbd.Buffer(2 * 1024 * 1024), (j % 16) * 2 * 1024 * 1024)
os._exit(0)
`])
    t.is(drop.code, 0, drop.stderr)
  }
  // Each reconnect finds the dropped client's handle still finishing its reads, and waits for it rather than being refused.
  const after = await qemuIo(uri, 'read -P 1 0 64k', 'read -P 64 16515072 64k')
  t.is(after.code, 0, 'the gateway still serves, and the volume is free again: ' + after.stdout + after.stderr)
})

test('small sequential reads (read-ahead) see every write made between them, in one session and across chunks', async (t) => {
  const c = cluster()
  const vol = await c.volume<{ id: string }>('create', 'ahead', '--size', '16M', '--chunk-size', '1M')
  const uri = c.nbdUri(vol.id)
  const steps = (pattern: string, from: number, count: number, size: number): string[] =>
    Array.from({ length: count }, (_, i) => `read -P ${pattern} ${from + i * size} ${size}`)
  // 4 KiB steps over 2 MiB cross a chunk boundary; writes in between land in the window read ahead.
  const result = await qemuIo(uri,
    'write -P 0x11 0 2M',
    ...steps('0x11', 0, 64, 4096),
    'write -P 0x22 256k 4k',
    ...steps('0x11', 256 * 1024 - 8192, 2, 4096), 'read -P 0x22 256k 4k',
    ...steps('0x11', 260 * 1024, 200, 4096),
    'write -P 0x33 1M 64k', 'read -P 0x33 1M 4k', ...steps('0x33', 1024 * 1024 + 4096, 15, 4096))
  t.is(result.code, 0, result.stderr + result.stdout)
})
