import type { ExecutionContext, TestFn } from 'ava'
import { ControlError, updateRecord, type ControlStore } from '../../lib/control-store/index.ts'

/**
 * The behaviour every ControlStore implementation owes its callers. Each
 * implementation's test file runs it with a factory that gives a fresh,
 * started store and registers its teardown.
 */
export function controlStoreCompliance (test: TestFn, name: string, fresh: (t: ExecutionContext) => Promise<ControlStore>): void {
  test(`${name}: put, get, list by prefix in key order, delete`, async (t) => {
    const store = await fresh(t)
    t.is(await store.get('volumes/a'), undefined)
    const r1 = await store.commit([], [{ type: 'put', key: 'volumes/b', value: { size: 2 } }, { type: 'put', key: 'volumes/a', value: { size: 1 } }])
    await store.commit([], [{ type: 'put', key: 'volumesx/c', value: 3 }])
    const a = await store.get<{ size: number }>('volumes/a')
    t.deepEqual(a, { key: 'volumes/a', value: { size: 1 }, modRevision: r1 })
    t.deepEqual((await store.list<{ size: number }>('volumes/')).map((r) => [r.key, r.value.size]), [['volumes/a', 1], ['volumes/b', 2]])
    await store.commit([], [{ type: 'delete', key: 'volumes/a' }])
    t.deepEqual((await store.list('volumes/')).map((r) => r.key), ['volumes/b'])
  })

  test(`${name}: revisions rise and compares guard every op of a commit`, async (t) => {
    const store = await fresh(t)
    const r1 = await store.commit([{ key: 'k', modRevision: 0 }], [{ type: 'put', key: 'k', value: 1 }])
    const r2 = await store.commit([{ key: 'k', modRevision: r1 }], [{ type: 'put', key: 'k', value: 2 }])
    t.true(r2 > r1)
    const stale = await t.throwsAsync(store.commit([{ key: 'k', modRevision: r1 }], [
      { type: 'put', key: 'k', value: 3 }, { type: 'put', key: 'other', value: 1 }]))
    t.true(stale instanceof ControlError && stale.code === 'Conflict')
    t.is((await store.get('k'))?.value, 2)
    t.is(await store.get('other'), undefined, 'a failed commit changes nothing')
    const exists = await t.throwsAsync(store.commit([{ key: 'k', modRevision: 0 }], [{ type: 'put', key: 'k', value: 4 }]))
    t.is((exists as ControlError).code, 'Conflict', 'modRevision 0 means the key must be absent')
  })

  test(`${name}: concurrent read-modify-write loses no update`, async (t) => {
    const store = await fresh(t)
    await Promise.all(Array.from({ length: 20 }, async () =>
      await updateRecord<number>(store, 'counter', (n) => (n ?? 0) + 1, 100)))
    t.is((await store.get<number>('counter'))?.value, 20)
  })
}
