import test from 'ava'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LevelControlStore } from '../../lib/control-store/index.ts'
import { controlStoreCompliance } from './compliance.ts'

controlStoreCompliance(test, 'level', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-control-'))
  const store = new LevelControlStore({ path: join(dir, 'control') })
  await store.start()
  t.teardown(async () => {
    await store.stop()
    await rm(dir, { recursive: true, force: true })
  })
  return store
})

test('level: committed records survive a reopen, and revisions keep rising', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-control-'))
  t.teardown(async () => await rm(dir, { recursive: true, force: true }))
  const first = new LevelControlStore({ path: join(dir, 'control') })
  await first.start()
  const r1 = await first.commit([], [{ type: 'put', key: 'a', value: 'x' }])
  await first.stop()
  const second = new LevelControlStore({ path: join(dir, 'control') })
  await second.start()
  t.teardown(async () => await second.stop())
  t.is((await second.get('a'))?.value, 'x')
  t.true(await second.commit([], [{ type: 'put', key: 'b', value: 'y' }]) > r1)
})
