import { randomBytes, randomUUID } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import test from 'ava'
import { allInOneForFile } from '../helpers/all-in-one.ts'
import { countChunkFiles } from '../volumes/chunk-files.ts'
import { adminToken, chunkFilesSettle, glance, MiB, sparseDisk, toQcow2, type Image } from './glance.ts'

const cluster = allInOneForFile(test)

interface GlanceError { message: string, code: string, title: string }

test.serial('bad uploads are refused with Glance errors and leave nothing behind', async (t) => {
  const c = cluster()
  const token = await adminToken(c)
  const raw = join(c.dir, 'disk.raw')
  const qcow2 = join(c.dir, 'disk.qcow2')
  const corrupt = join(c.dir, 'corrupt.qcow2')
  await sparseDisk(raw, 8 * MiB)
  await toQcow2(raw, qcow2)
  const broken = await readFile(qcow2)
  // The header's cluster_bits (offset 20) out of range: qemu-img refuses to open it.
  broken.writeUInt32BE(40, 20)
  await writeFile(corrupt, broken)
  const baseline = await countChunkFiles(c.dir)

  const cases = [
    { name: 'qcow2-but-raw', declared: 'qcow2', file: raw, why: /disk_format is qcow2 but the data is raw/ },
    { name: 'raw-but-qcow2', declared: 'raw', file: qcow2, why: /disk_format is raw but the data is qcow2/ },
    { name: 'corrupt', declared: 'qcow2', file: corrupt, why: /not a valid qcow2 image/ }
  ]
  for (const bad of cases) {
    const created = await glance(c, token, 'POST', '/images', { json: { name: bad.name, disk_format: bad.declared, container_format: 'bare' } })
    t.is(created.status, 201)
    const image = await created.json() as Image
    const upload = await glance(c, token, 'PUT', `/images/${image.id}/file`, { body: await readFile(bad.file) })
    t.is(upload.status, 400, bad.name)
    const error = await upload.json() as GlanceError
    t.regex(error.message, bad.why)
    t.is(error.code, '400 Bad Request')
    t.is(error.title, 'Bad Request')
    const after = await (await glance(c, token, 'GET', `/images/${image.id}`)).json() as Image
    t.is(after.status, 'killed', `${bad.name}: killed`)
    t.is(after.size, null)
  }
  t.is(await chunkFilesSettle(c, baseline), baseline, 'no chunk of a refused upload remains')

  const viaCli = await t.throwsAsync(c.image('create', 'cli-mismatch', '--file', raw, '--disk-format', 'qcow2'))
  t.regex(viaCli.message, /400 disk_format is qcow2 but the data is raw/)
  t.is((viaCli as Error & { exitCode?: number }).exitCode, 1)
})

test.serial('unknown images, uploads to active images, patches and unauthenticated requests get Glance errors', async (t) => {
  const c = cluster()
  const token = await adminToken(c)
  const unknown = randomUUID()
  const missing = await glance(c, token, 'GET', `/images/${unknown}`)
  t.is(missing.status, 404)
  t.deepEqual(await missing.json(), { message: `No image found with ID ${unknown}`, code: '404 Not Found', title: 'Not Found' })
  t.is((await glance(c, token, 'PUT', `/images/${unknown}/file`, { body: Buffer.alloc(512) })).status, 404)
  t.is((await glance(c, token, 'DELETE', `/images/${unknown}`)).status, 404)
  const fromUnknown = await t.throwsAsync(c.volume('create', 'from-nothing', '--image', unknown))
  t.regex(fromUnknown.message, /404 no image/)

  const unauthenticated = await glance(c, undefined, 'GET', '/images')
  t.is(unauthenticated.status, 401)
  t.is((await unauthenticated.json() as GlanceError).title, 'Unauthorized')
  t.is((await glance(c, 'forged.token', 'POST', '/images', { json: { name: 'x' } })).status, 401)

  const file = join(c.dir, 'small.raw')
  await writeFile(file, randomBytes(4096))
  const image = await c.image<Image>('create', 'small', '--file', file, '--disk-format', 'raw', '--property', 'os_distro=debian')
  t.is(image.os_distro, 'debian')
  const again = await glance(c, token, 'PUT', `/images/${image.id}/file`, { body: randomBytes(4096) })
  t.is(again.status, 409)
  t.regex((await again.json() as GlanceError).message, /transition from active to saving is not allowed/)
  const queued = await (await glance(c, token, 'POST', '/images', { json: { name: 'empty' } })).json() as Image
  t.is((await glance(c, token, 'GET', `/images/${queued.id}/file`)).status, 204, 'no data yet')
  const noFormat = await glance(c, token, 'PUT', `/images/${queued.id}/file`, { body: randomBytes(512) })
  t.is(noFormat.status, 400, 'formats must be set before data')

  const patched = await glance(c, token, 'PATCH', `/images/${image.id}`, {
    headers: { 'content-type': 'application/openstack-images-v2.1-json-patch' },
    json: [
      { op: 'replace', path: '/name', value: 'renamed' },
      { op: 'replace', path: '/min_disk', value: 1 },
      { op: 'add', path: '/hw_disk_bus', value: 'virtio' },
      { op: 'remove', path: '/os_distro' }
    ]
  })
  t.is(patched.status, 200)
  const view = await patched.json() as Image
  t.like(view, { name: 'renamed', min_disk: 1, hw_disk_bus: 'virtio' })
  t.false('os_distro' in view)
  t.is((await c.image<Image>('update', 'renamed', '--public', '--min-ram', '128')).visibility, 'public')
  const readOnly = await glance(c, token, 'PATCH', `/images/${image.id}`, {
    headers: { 'content-type': 'application/openstack-images-v2.1-json-patch' }, json: [{ op: 'replace', path: '/status', value: 'active' }]
  })
  t.is(readOnly.status, 403)
  const tooSmall = await t.throwsAsync(c.volume('create', 'under-min-disk', '--image', image.id, '--size', '64M'))
  t.regex(tooSmall.message, /min_disk 1 GiB/)
})
