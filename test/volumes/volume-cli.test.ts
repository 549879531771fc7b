import test from 'ava'
import { allInOneForFile } from '../helpers/all-in-one.ts'

const cluster = allInOneForFile(test)

interface Volume { id: string, name: string, status: string, snapshot_id: string | null, 'ringstack:size_bytes': number }
interface Snapshot { id: string, name: string, volume_id: string }

const MiB = 1024 * 1024

test.serial('volume lifecycle through the CLI: create, list, show, extend, snapshot, clone, flatten, delete, with refusals', async (t) => {
  const c = cluster()
  const vol = await c.volume<Volume>('create', 'life', '--size', '64M')
  t.is(vol.name, 'life')
  t.is(vol['ringstack:size_bytes'], 64 * MiB)
  t.is(vol.status, 'available')
  t.true((await c.volume<Volume[]>('list')).some((v) => v.id === vol.id))
  t.is((await c.volume<Volume>('show', 'life')).id, vol.id, 'by name')
  t.is((await c.volume<Volume>('extend', vol.id, '--size', '96M'))['ringstack:size_bytes'], 96 * MiB)

  const snap = await c.volume<Snapshot>('snapshot', 'create', 'life', 'life-s1')
  t.is(snap.volume_id, vol.id)
  t.deepEqual((await c.volume<Snapshot[]>('snapshot', 'list', 'life')).map((s) => s.name), ['life-s1'])
  const clone = await c.volume<Volume>('clone', 'life-s1', 'life-clone')
  t.is(clone.snapshot_id, snap.id)
  t.is(clone['ringstack:size_bytes'], 96 * MiB)

  const hasClone = await t.throwsAsync(c.volume('snapshot', 'delete', 'life-s1'))
  t.regex(hasClone.message, /has clones \(life-clone\)/)
  const hasSnapshots = await t.throwsAsync(c.volume('delete', 'life'))
  t.regex(hasSnapshots.message, /has 1 snapshot/)
  const shrink = await t.throwsAsync(c.volume('extend', 'life', '--size', '1M'))
  t.regex(shrink.message, /only grow/)
  const taken = await t.throwsAsync(c.volume('create', 'life', '--size', '1M'))
  t.regex(taken.message, /already exists/)
  const missing = await t.throwsAsync(c.volume('show', 'no-such-volume'))
  t.regex(missing.message, /404 no volume no-such-volume/)
  const usage = await t.throwsAsync(c.volume('create', 'x', '--size', 'lots'))
  t.is((usage as Error & { exitCode?: number }).exitCode, 2, 'bad usage exits 2')

  const flat = await c.volume<Volume>('flatten', 'life-clone')
  t.is(flat.snapshot_id, null, 'flattened: no longer shares its snapshot')
  await c.volume('snapshot', 'delete', 'life-s1')
  await c.volume('delete', 'life-clone')
  await c.volume('delete', 'life')
  t.false((await c.volume<Volume[]>('list')).some((v) => v.name.startsWith('life')))
})
