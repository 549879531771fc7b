import test from 'ava'
import { HybridClock, type ListingEntry, type ListingRef, type ListItem, type ListQuery } from '../../storage/index.ts'
import type { GrpcListingNodeClient } from '../../storage/listing-node-client.ts'
import { byteOrder, objectEntry, randomNames, referenceList, type ReferenceItem } from '../listings/reference.ts'
import { NodeProcess, rejectsWith } from './node-process.ts'

const clock = new HybridClock()
let node: NodeProcess
let client: GrpcListingNodeClient

test.before(async () => {
  node = await NodeProcess.create()
  await node.launch()
  client = node.client().listings
})

test.after.always(async () => {
  await node?.destroy()
})

let containers = 0
/** A fresh container listing per test, on its own partition. */
function fresh (): ListingRef {
  containers++
  return { device: 'd1', partition: containers, account: 'acct', container: `c${containers}` }
}

const entry = (name: string, fields: Partial<ListingEntry> = {}): ListingEntry => objectEntry(name, clock.tick(), fields)

function plain (items: ListItem[]): ReferenceItem[] {
  return items.map((i) => (i.kind === 'entry' ? { name: i.entry.name } : { prefix: i.prefix.prefix }))
}

test('put, head and delete a listing; stale writes conflict', async (t) => {
  const ref = fresh()
  t.like(await client.headListing(ref), { exists: false, deleted: false, timestamp: 0n, objectCount: 0 })
  const created = clock.tick()
  t.like(await client.putListing(ref, created, { color: 'blue' }), { exists: true, deleted: false, timestamp: created })
  t.deepEqual((await client.headListing(ref)).metadata, { color: 'blue' })
  await rejectsWith(t, client.putListing(ref, created, {}), 'Conflict')
  const kept = await client.putListing(ref, clock.tick(), { color: 'red' }, { ifAbsent: true })
  t.is(kept.timestamp, created, 'ifAbsent leaves a live listing alone')
  t.deepEqual(kept.metadata, { color: 'blue' })
  const deletedAt = clock.tick()
  t.like(await client.deleteListing(ref, deletedAt), { exists: true, deleted: true, timestamp: deletedAt })
  await rejectsWith(t, client.putListing(ref, created + 1n, {}), 'Conflict', /listing changed/)
  const revived = await client.putListing(ref, clock.tick(), {}, { ifAbsent: true })
  t.false(revived.deleted, 'ifAbsent re-creates a deleted listing')
})

test('a listing with live entries refuses delete with NotEmpty', async (t) => {
  const ref = fresh()
  await client.putListing(ref, clock.tick(), {})
  await client.updateEntries(ref, [entry('x', { size: 3 })])
  await rejectsWith(t, client.deleteListing(ref, clock.tick()), 'NotEmpty')
  await client.updateEntries(ref, [entry('x', { deleted: true })])
  t.true((await client.deleteListing(ref, clock.tick())).deleted)
  const account: ListingRef = { device: 'd1', partition: 9999, account: 'acct-notempty', container: '' }
  await client.putListing(account, clock.tick(), {})
  await client.updateEntries(account, [entry('c1')])
  await rejectsWith(t, client.deleteListing(account, clock.tick()), 'NotEmpty')
})

test('last write wins per name: late older updates and tombstones', async (t) => {
  const ref = fresh()
  const older = entry('n', { size: 1, etag: 'old' })
  const newer = entry('n', { size: 2, etag: 'new' })
  await client.updateEntries(ref, [newer])
  await client.updateEntries(ref, [older])
  let page = await client.list(ref, { includeDeleted: true })
  t.like(page.items[0], { kind: 'entry', entry: { etag: 'new', size: 2 } })
  const tombstone = entry('n', { deleted: true })
  const lateLive = { ...newer, timestamp: tombstone.timestamp - 1n, etag: 'late' }
  await client.updateEntries(ref, [tombstone])
  await client.updateEntries(ref, [lateLive])
  page = await client.list(ref, {})
  t.deepEqual(page.items, [], 'an older live update does not resurrect a deleted name')
  page = await client.list(ref, { includeDeleted: true })
  t.like(page.items[0], { kind: 'entry', entry: { deleted: true, timestamp: tombstone.timestamp } })
  const info = await client.updateEntries(ref, [tombstone])
  t.is(info.objectCount, 0, 'a replayed update changes nothing')
  t.is(info.updated, tombstone.timestamp)
})

test('counts stay exact under overwrites, deletes and replays', async (t) => {
  const ref = fresh()
  const model = new Map<string, ListingEntry>()
  let x = 7
  const random = (n: number): number => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    return (x >>> 0) % n
  }
  const history: ListingEntry[] = []
  for (let round = 0; round < 40; round++) {
    const batch: ListingEntry[] = []
    for (let i = 0; i < 25; i++) {
      const name = `k${random(60)}`
      const pick = random(10)
      const e = pick < 2 && history.length > 0
        ? history[random(history.length)]! // replay of something older (often stale)
        : entry(name, pick < 5 ? { deleted: true } : { size: random(1000) })
      batch.push(e)
      history.push(e)
      const current = model.get(e.name)
      if (current === undefined || e.timestamp > current.timestamp) model.set(e.name, e)
    }
    const info = await client.updateEntries(ref, batch)
    const live = [...model.values()].filter((e) => !e.deleted)
    t.is(info.objectCount, live.length)
    t.is(info.bytesUsed, live.reduce((sum, e) => sum + e.size, 0))
  }
  const listed = await client.list(ref, {})
  t.deepEqual(listed.items.map((i) => i.kind === 'entry' && i.entry.name),
    [...model.values()].filter((e) => !e.deleted).map((e) => e.name).sort(byteOrder))
})

test('account listings count containers and what their stats report', async (t) => {
  const account: ListingRef = { device: 'd1', partition: 4242, account: 'acct-stats', container: '' }
  const a = entry('a')
  const b = entry('b')
  await client.updateEntries(account, [a, b])
  let info = await client.updateEntries(account, [{ ...a, objectCount: 5, bytesUsed: 500, statsTimestamp: clock.tick() }])
  t.like(info, { containerCount: 2, objectCount: 5, bytesUsed: 500 })
  const staleStats = { ...b, objectCount: 1, bytesUsed: 1, statsTimestamp: clock.tick() }
  const freshStats = { ...b, objectCount: 2, bytesUsed: 20, statsTimestamp: clock.tick() }
  await client.updateEntries(account, [freshStats])
  info = await client.updateEntries(account, [staleStats])
  t.like(info, { containerCount: 2, objectCount: 7, bytesUsed: 520 }, 'older stats lose')
  info = await client.updateEntries(account, [{ ...entry('a', { deleted: true }), statsTimestamp: clock.tick() }])
  t.like(info, { containerCount: 1, objectCount: 2, bytesUsed: 20 })
})

test('prefix, delimiter, markers, limit and reverse match a byte-order reference over random unicode names', async (t) => {
  const ref = fresh()
  const names = randomNames(3000, 12345)
  for (let i = 0; i < names.length; i += 1000) {
    await client.updateEntries(ref, names.slice(i, i + 1000).map((n) => entry(n)))
  }
  // Some tombstones, which must never show.
  const dead = randomNames(3300, 999).filter((n) => !names.includes(n)).slice(0, 300)
  await client.updateEntries(ref, dead.map((n) => entry(n, { deleted: true })))
  const sorted = [...names].sort(byteOrder)
  let x = 42
  const random = (n: number): number => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    return (x >>> 0) % n
  }
  const pickPrefix = (): string => {
    const chars = [...sorted[random(sorted.length)]!]
    return chars.slice(0, random(Math.min(3, chars.length) + 1)).join('')
  }
  for (let round = 0; round < 120; round++) {
    const query: ListQuery = {
      prefix: random(2) === 0 ? '' : pickPrefix(),
      delimiter: ['', '/', '/', 'é', '😀', 'a/'][random(6)]!,
      marker: random(3) === 0 ? pickPrefix() + (random(2) === 0 ? '/' : '') : '',
      endMarker: random(4) === 0 ? sorted[random(sorted.length)]! : '',
      limit: [1, 7, 100, 10_000][random(4)]!,
      reverse: random(4) === 0
    }
    const expected = referenceList(names, query)
    const reply = await client.list(ref, query)
    t.deepEqual(plain(reply.items), expected.items, JSON.stringify(query))
    if (!expected.truncated) t.false(reply.truncated && reply.items.length < (query.limit ?? 0), JSON.stringify(query))
    if (expected.truncated) t.true(reply.truncated)
  }
  // Paging with the reply's nextMarker reproduces the whole listing, common prefixes included.
  for (const query of [{ delimiter: '/' }, { delimiter: '/', reverse: true }, { prefix: 'a', delimiter: 'b' }, {}]) {
    const seen: ReferenceItem[] = []
    let marker = ''
    for (;;) {
      const reply = await client.list(ref, { ...query, marker, limit: 37 })
      seen.push(...plain(reply.items))
      if (!reply.truncated) break
      marker = reply.nextMarker
    }
    t.deepEqual(seen, referenceList(names, query).items, JSON.stringify(query))
  }
})

test('a rolled-up prefix is skipped with a seek, not read through', async (t) => {
  const ref = fresh()
  // More entries under one prefix than one call may scan (20 000).
  for (let i = 0; i < 25_000; i += 1000) {
    await client.updateEntries(ref, Array.from({ length: 1000 }, (_, j) => entry(`big/${String(i + j).padStart(6, '0')}`)))
  }
  await client.updateEntries(ref, [entry('after/x'), entry('last')])
  const started = performance.now()
  const reply = await client.list(ref, { delimiter: '/', limit: 100 })
  const ms = performance.now() - started
  t.deepEqual(plain(reply.items), [{ prefix: 'after/' }, { prefix: 'big/' }, { name: 'last' }])
  t.false(reply.truncated)
  const backwards = await client.list(ref, { delimiter: '/', limit: 100, reverse: true })
  t.deepEqual(plain(backwards.items), [{ name: 'last' }, { prefix: 'big/' }, { prefix: 'after/' }])
  t.false(backwards.truncated)
  t.log(`delimiter listing over 25 000 rolled-up names: ${ms.toFixed(1)} ms`)
})

test('with includeDeleted a common prefix carries its witness and the tombstones before it', async (t) => {
  const ref = fresh()
  await client.updateEntries(ref, [entry('d/1', { deleted: true }), entry('d/2', { deleted: true }), entry('d/3'), entry('d/4'),
    entry('e/1', { deleted: true }), entry('f')])
  const reply = await client.list(ref, { delimiter: '/', includeDeleted: true })
  t.is(reply.items.length, 3)
  const [d, e, f] = reply.items
  t.like(d, { kind: 'prefix', prefix: { prefix: 'd/', complete: true, witness: { name: 'd/3' } } })
  t.deepEqual(d?.kind === 'prefix' && d.prefix.shadowed.map((s) => s.name), ['d/1', 'd/2'])
  t.like(e, { kind: 'prefix', prefix: { prefix: 'e/', complete: true, witness: undefined } })
  t.like(f, { kind: 'entry', entry: { name: 'f' } })
  // Cut inside a prefix: the reply says the prefix is incomplete and where to go on.
  const cut = await client.list(ref, { delimiter: '/', includeDeleted: true, limit: 1 })
  t.like(cut, { truncated: true, nextMarker: 'd/1', items: [{ kind: 'prefix', prefix: { prefix: 'd/', complete: false } }] })
  const live = await client.list(ref, { delimiter: '/' })
  t.deepEqual(plain(live.items), [{ prefix: 'd/' }, { name: 'f' }])
})

test('bad requests get InvalidArgument', async (t) => {
  const ref = fresh()
  await rejectsWith(t, client.updateEntries(ref, [entry('bad\0name')]), 'InvalidArgument')
  await rejectsWith(t, client.updateEntries(ref, [entry('x'.repeat(1025))]), 'InvalidArgument')
  await rejectsWith(t, client.updateEntries({ ...ref, container: 'a/b' }, [entry('x')]), 'InvalidArgument')
  await rejectsWith(t, client.updateEntries(ref, []), 'InvalidArgument')
  await rejectsWith(t, client.list(ref, { limit: 10_001 }), 'InvalidArgument')
  await rejectsWith(t, client.headListing({ ...ref, device: 'nope' }), 'UnknownDevice')
})
