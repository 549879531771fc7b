import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { LevelControlStore } from '../../lib/control-store/index.ts'
import { silentLogger } from '../../lib/logger.ts'
import { Lease } from '../../storage/volume/lease.ts'

async function store (t: ExecutionContext): Promise<LevelControlStore> {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-lease-'))
  const control = new LevelControlStore({ path: join(dir, 'control') })
  await control.start()
  t.teardown(async () => {
    await control.stop()
    await rm(dir, { recursive: true, force: true })
  })
  return control
}

test('a held lease refuses a second writer; released, the next holder gets a higher epoch', async (t) => {
  const control = await store(t)
  const first = await Lease.acquire(control, 'vol', 'gw1/a', { ttlMs: 10_000 }, silentLogger())
  const refused = await t.throwsAsync(Lease.acquire(control, 'vol', 'gw2/b', { ttlMs: 10_000 }, silentLogger()))
  t.regex(refused.message, /in use by gw1\/a/)
  await first.release()
  const second = await Lease.acquire(control, 'vol', 'gw2/b', { ttlMs: 10_000 }, silentLogger())
  t.true(second.epoch > first.epoch)
  await second.release()
})

test('a dead holder\'s lease expires and the next holder fences it with a higher epoch', async (t) => {
  const control = await store(t)
  let now = 1_000_000
  const clock = { now: () => now }
  // What a holder that died leaves behind: a record nobody renews.
  await control.commit([], [{ type: 'put', key: 'leases/vol', value: { holder: 'gw1/dead', epoch: 7, expiresAt: now + 3_000 } }])
  const early = await t.throwsAsync(Lease.acquire(control, 'vol', 'gw2/b', { ttlMs: 3_000, ...clock }, silentLogger()))
  t.regex(early.message, /in use by gw1\/dead/)
  now += 3_001
  const taker = await Lease.acquire(control, 'vol', 'gw2/b', { ttlMs: 3_000, ...clock }, silentLogger())
  t.is(taker.epoch, 8)
  await taker.release()
})

test('a holder that was frozen past its ttl learns at its next renewal that it lost the lease', async (t) => {
  const control = await store(t)
  const holder = await Lease.acquire(control, 'vol', 'gw1/a', { ttlMs: 1_500 }, silentLogger())
  const lost = new Promise<void>((resolve) => { holder.onLost(resolve) })
  // Someone took the lease over while the holder could not renew.
  const record = await control.get('leases/vol')
  await control.commit([{ key: 'leases/vol', modRevision: record!.modRevision }], [
    { type: 'put', key: 'leases/vol', value: { holder: 'gw2/b', epoch: holder.epoch + 1, expiresAt: Date.now() + 60_000 } }])
  await lost
  t.true(holder.isLost)
  await holder.release()
  t.is((await control.get<{ holder: string }>('leases/vol'))?.value.holder, 'gw2/b', 'releasing a lost lease leaves the new holder alone')
})
