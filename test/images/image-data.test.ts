import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import test from 'ava'
import { allInOneForFile } from '../helpers/all-in-one.ts'
import { countChunkFiles } from '../volumes/chunk-files.ts'
import { tool } from '../volumes/tools.ts'
import { adminToken, digests, glance, MiB, sparseDisk, toQcow2, type Image } from './glance.ts'

const cluster = allInOneForFile(test)

interface Volume { id: string, bootable: string, 'ringstack:size_bytes': number, volume_image_metadata?: { image_id: string } }

test.serial('raw and qcow2 uploads through the CLI: active, checksums of the raw data, download gives it back, sparse stays sparse', async (t) => {
  const c = cluster()
  const raw = join(c.dir, 'disk.raw')
  const qcow2 = join(c.dir, 'disk.qcow2')
  await sparseDisk(raw, 18 * MiB)
  await toQcow2(raw, qcow2)
  const sums = await digests(raw)

  const before = await countChunkFiles(c.dir)
  const fromRaw = await c.image<Image>('create', 'data-raw', '--file', raw, '--disk-format', 'raw')
  // Data in three of the five 4 MiB chunks (the holes in between are never written), three replicas each.
  t.is(await countChunkFiles(c.dir) - before, 3 * 3, 'chunks of zeroes are not stored')
  const fromQcow2 = await c.image<Image>('create', 'data-qcow2', '--file', qcow2, '--disk-format', 'qcow2', '--public')
  for (const image of [fromRaw, fromQcow2]) {
    t.is(image.status, 'active')
    t.is(image.disk_format, 'raw', 'qcow2 is converted to raw on import')
    t.is(image.size, 18 * MiB)
    t.is(image.checksum, sums.md5)
    t.is(image.os_hash_algo, 'sha512')
    t.is(image.os_hash_value, sums.sha512)
  }
  t.is(fromQcow2.ringstack_converted_from, 'qcow2')
  t.is(fromQcow2.visibility, 'public')

  const listed = await c.image<Image[]>('list')
  t.deepEqual(['data-qcow2', 'data-raw'].map((n) => listed.find((i) => i.name === n)?.status), ['active', 'active'])
  for (const image of [fromRaw, fromQcow2]) {
    const out = join(c.dir, `${image.id}.out`)
    await c.image('download', image.name, '--file', out)
    t.true((await readFile(out)).equals(await readFile(raw)), `${image.name} downloads as the raw bytes`)
  }
})

test.serial('download serves byte ranges, and images of any byte size', async (t) => {
  const c = cluster()
  const token = await adminToken(c)
  const odd = join(c.dir, 'odd.bin')
  const bytes = randomBytes(1000)
  await writeFile(odd, bytes)
  const image = await c.image<Image>('create', 'odd', '--file', odd, '--disk-format', 'raw')
  t.is(image.size, 1000)

  const whole = await glance(c, token, 'GET', `/images/${image.id}/file`)
  t.is(whole.status, 200)
  t.is(whole.headers.get('content-md5'), image.checksum)
  t.true(Buffer.from(await whole.arrayBuffer()).equals(bytes))
  const middle = await glance(c, token, 'GET', `/images/${image.id}/file`, { headers: { range: 'bytes=100-611' } })
  t.is(middle.status, 206)
  t.is(middle.headers.get('content-range'), 'bytes 100-611/1000')
  t.true(Buffer.from(await middle.arrayBuffer()).equals(bytes.subarray(100, 612)))
  const tail = await glance(c, token, 'GET', `/images/${image.id}/file`, { headers: { range: 'bytes=-7' } })
  t.true(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(993)))
  const beyond = await glance(c, token, 'GET', `/images/${image.id}/file`, { headers: { range: 'bytes=1000-' } })
  t.is(beyond.status, 416)
  t.is(beyond.headers.get('content-range'), 'bytes */1000')
})

test.serial('a volume from an image reads as the image over NBD, and is a writable copy-on-write clone', async (t) => {
  const c = cluster()
  const raw = join(c.dir, 'boot.raw')
  await sparseDisk(raw, 18 * MiB)
  await toQcow2(raw, join(c.dir, 'boot.qcow2'))
  await c.image('create', 'boot-image', '--file', join(c.dir, 'boot.qcow2'), '--disk-format', 'qcow2')
  const volume = await c.volume<Volume>('create', 'boot-disk', '--image', 'boot-image')
  t.is(volume.bootable, 'true')
  t.is(volume['ringstack:size_bytes'], 18 * MiB, 'sized like the image by default')
  const same = await tool('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', raw, c.nbdUri(volume.id)])
  t.is(same.code, 0, same.stdout + same.stderr)

  const write = await tool('qemu-io', ['-f', 'raw', c.nbdUri(volume.id), '-c', 'write -P 0x5a 0 64k'])
  t.is(write.code, 0, write.stderr)
  const image = await c.image<Image>('show', 'boot-image')
  const again = await c.image('download', 'boot-image', '--file', join(c.dir, 'boot.again'))
  t.truthy(again)
  t.true((await readFile(join(c.dir, 'boot.again'))).equals(await readFile(raw)), 'writing the volume leaves the image alone')
  t.is(image.status, 'active')

  const bigger = await c.volume<Volume>('create', 'boot-disk-2', '--image', image.id, '--size', '1G')
  t.is(bigger['ringstack:size_bytes'], 1024 * MiB)
  const tooSmall = await t.throwsAsync(c.volume('create', 'boot-disk-3', '--image', image.id, '--size', '1M'))
  t.regex(tooSmall.message, /400 image .* needs a volume of at least/)
})
