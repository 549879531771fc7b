import test from 'ava'
import { GrpcStorageNodeClient, StorageError, type StorageErrorCode } from '../../storage/index.ts'
import type { ListingClient } from '../../storage/listing-client/index.ts'
import type { TestCluster } from '../helpers/cluster.ts'
import { allPages, listingCluster, primaryRefs } from './listing-cluster.ts'
import { objectEntry, randomNames, referenceList } from './reference.ts'

let cluster: TestCluster
let listings: ListingClient
let clock: import('../../storage/index.ts').HybridClock

test.before(async () => {
  ({ cluster, listings, clock } = await listingCluster(undefined, { statsDelayMs: 50 }))
})
test.after.always(async () => {
  listings?.close()
  await cluster?.destroy()
})

/** Waits until the client's channel to a restarted node is up again (past its reconnect backoff). */
async function serving (ref: import('../../storage/index.ts').ListingRef, device: import('../../storage/object-client/index.ts').PlacementDevice): Promise<void> {
  for (let tries = 0; ; tries++) {
    try {
      await cluster.pool.client(device).listings.headListing(ref)
      cluster.pool.markUp(device)
      return
    } catch (err) {
      if (tries > 100) throw err
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

async function fails (t: import('ava').ExecutionContext, promise: Promise<unknown>, code: StorageErrorCode): Promise<void> {
  const err = await t.throwsAsync(promise)
  t.true(err instanceof StorageError, String(err))
  t.is((err as StorageError).code, code, err?.message)
}

test.serial('containers: create, head, list, counts, NotEmpty, delete', async (t) => {
  const account = 'AUTH_life'
  const first = await listings.putContainer(account, 'photos', { owner: 'ann' })
  t.true(first.created)
  const again = await listings.putContainer(account, 'photos', { owner: 'bob' }, { ifAbsent: true })
  t.false(again.created)
  t.deepEqual(again.info.metadata, { owner: 'ann' })
  await listings.putContainer(account, 'docs')
  t.deepEqual((await listings.listContainers(account)).entries.map((c) => c.name), ['docs', 'photos'])
  await fails(t, listings.headContainer(account, 'nope'), 'NotFound')

  for (let i = 0; i < 5; i++) {
    await listings.updateObject(account, 'photos', { name: `p${i}.jpg`, timestamp: clock.tick(), size: 100 * (i + 1), etag: `e${i}` })
  }
  await listings.updateObject(account, 'photos', { name: 'p0.jpg', timestamp: clock.tick(), size: 1, etag: 'small' })
  await listings.updateObject(account, 'photos', { name: 'p4.jpg', timestamp: clock.tick(), deleted: true })
  const head = await listings.headContainer(account, 'photos')
  t.like(head, { objectCount: 4, bytesUsed: 1 + 200 + 300 + 400, metadata: { owner: 'ann' } })
  await listings.flush()
  t.like(await listings.headAccount(account), { containerCount: 2, objectCount: 4, bytesUsed: 901 })
  const page = await listings.listContainers(account)
  t.like(page.entries.find((c) => c.name === 'photos'), { objectCount: 4, bytesUsed: 901 })

  await fails(t, listings.deleteContainer(account, 'photos'), 'NotEmpty')
  await listings.updateObjects(account, 'photos', ['p0.jpg', 'p1.jpg', 'p2.jpg', 'p3.jpg'].map((name) => ({ name, timestamp: clock.tick(), deleted: true })))
  await listings.deleteContainer(account, 'photos')
  await fails(t, listings.headContainer(account, 'photos'), 'NotFound')
  await fails(t, listings.deleteContainer(account, 'photos'), 'NotFound')
  t.deepEqual((await listings.listContainers(account)).entries.map((c) => c.name), ['docs'])
  await listings.flush()
  t.like(await listings.headAccount(account), { containerCount: 1, objectCount: 0, bytesUsed: 0 })
  t.true((await listings.putContainer(account, 'photos')).created, 'a deleted container can be made again')
})

test.serial('bad names are InvalidArgument before anything is sent', async (t) => {
  await fails(t, listings.updateObject('AUTH_bad', 'c', { name: 'lone \uD800', timestamp: clock.tick() }), 'InvalidArgument')
  await fails(t, listings.putContainer('AUTH_bad', 'a/b'), 'InvalidArgument')
  await fails(t, listings.listObjects('AUTH_bad', 'c', { limit: 10_001 }), 'InvalidArgument')
  await fails(t, listings.listObjects('AUTH_bad', 'c', { prefix: '\uDC00' }), 'InvalidArgument')
})

test.serial('what W replicas took, a read of R replicas shows, whichever replica missed it', async (t) => {
  const account = 'AUTH_overlap'
  const container = 'c'
  const replicas = primaryRefs(cluster, account, container)
  const clients = replicas.map((r) => new GrpcStorageNodeClient(`127.0.0.1:${r.port}`))
  t.teardown(() => { for (const c of clients) c.close() })
  // Each update reaches exactly two of the three replicas, a different pair each time.
  const live = new Set<string>()
  for (let i = 0; i < 30; i++) {
    const skip = i % 3
    const name = `obj${String(i).padStart(2, '0')}`
    const entry = objectEntry(name, clock.tick(), { size: i })
    await Promise.all(replicas.map(async (r, j) => { if (j !== skip) await clients[j]!.listings.updateEntries(r.ref, [entry]) }))
    live.add(name)
  }
  // Deletes that one replica missed: its stale live copy must not show.
  for (const name of ['obj03', 'obj10', 'obj17']) {
    const tombstone = objectEntry(name, clock.tick(), { deleted: true })
    const skip = Number(name.slice(3)) % 3
    await Promise.all(replicas.map(async (r, j) => { if (j !== skip) await clients[j]!.listings.updateEntries(r.ref, [tombstone]) }))
    live.delete(name)
  }
  const names = (await listings.listObjects(account, container)).entries.map((e) => e.name)
  t.deepEqual(names, [...live].sort())
  const paged = await allPages(listings, account, container, { limit: 7 })
  t.deepEqual(paged.items, [...live].sort().map((name) => ({ name })))
})

test.serial('a common prefix whose only live name was deleted on W replicas is not listed', async (t) => {
  const account = 'AUTH_prefixes'
  const container = 'c'
  const replicas = primaryRefs(cluster, account, container)
  const clients = replicas.map((r) => new GrpcStorageNodeClient(`127.0.0.1:${r.port}`))
  t.teardown(() => { for (const c of clients) c.close() })
  const write = async (only: number[], entries: ReturnType<typeof objectEntry>[]): Promise<void> => {
    await Promise.all(only.map(async (j) => await clients[j]!.listings.updateEntries(replicas[j]!.ref, entries)))
  }
  // gone/: one replica still has gone/a live; the other two deleted it later.
  const goneLive = objectEntry('gone/a', clock.tick())
  await write([0, 1, 2], [goneLive])
  await write([1, 2], [objectEntry('gone/a', clock.tick(), { deleted: true })])
  // mixed/: the first live name of some replica was deleted, but a later name is live on W replicas.
  await write([0, 1, 2], [objectEntry('mixed/a', clock.tick())])
  await write([1, 2], [objectEntry('mixed/a', clock.tick(), { deleted: true })])
  await write([0, 2], [objectEntry('mixed/z', clock.tick())])
  // dead/: tombstones only.
  await write([0, 1, 2], [objectEntry('dead/x', clock.tick(), { deleted: true })])
  await write([0, 1], [objectEntry('top', clock.tick())])
  for (let round = 0; round < 6; round++) {
    // Several rounds: which R replicas answer first varies.
    const page = await listings.listObjects(account, container, { delimiter: '/' })
    t.deepEqual(page.commonPrefixes, ['mixed/'])
    t.deepEqual(page.entries.map((e) => e.name), ['top'])
  }
  t.deepEqual((await listings.listObjects(account, container, { delimiter: '/', reverse: true })).commonPrefixes, ['mixed/'])
})

test.serial('paging 2500 objects with a delimiter matches the reference exactly: no duplicates, no gaps', async (t) => {
  const account = 'AUTH_paging'
  const container = 'big'
  await listings.putContainer(account, container)
  const names: string[] = []
  for (let i = 0; i < 2500; i++) {
    const dir = i % 7 === 0 ? '' : `dir${String(i % 40).padStart(2, '0')}/`
    const sub = i % 3 === 0 ? `sub${i % 5}/` : ''
    names.push(`${dir}${sub}file-${String(i).padStart(4, '0')}${i % 11 === 0 ? '-é😀' : ''}`)
  }
  names.push(...randomNames(200, 77))
  const started = performance.now()
  for (let i = 0; i < names.length; i += 500) {
    await listings.updateObjects(account, container, names.slice(i, i + 500).map((name) => ({ name, timestamp: clock.tick(), size: 1 })))
  }
  t.log(`${names.length} entries written in batches of 500 in ${(performance.now() - started).toFixed(0)} ms`)
  for (const options of [
    { delimiter: '/', limit: 100 },
    { delimiter: '/', limit: 1 },
    { delimiter: '/', limit: 13, prefix: 'dir1' },
    { delimiter: '/', limit: 9, prefix: 'dir07/' },
    { limit: 333 },
    { delimiter: '/', limit: 17, reverse: true },
    { delimiter: 'sub', limit: 50 }
  ]) {
    const { items, pages } = await allPages(listings, account, container, options)
    const expected = referenceList(names, { ...options, limit: undefined }).items
    t.deepEqual(items, expected, JSON.stringify(options))
    t.is(new Set(items.map((i) => JSON.stringify(i))).size, items.length, 'no duplicates')
    t.is(pages, Math.max(1, Math.ceil(expected.length / options.limit)), `full pages: ${JSON.stringify(options)}`)
  }
})

test.serial('with one node killed (-9), updates and listings go on and stay complete', async (t) => {
  const account = 'AUTH_crash'
  const container = 'c'
  await listings.putContainer(account, container)
  const live = new Set<string>()
  const write = async (from: number, to: number): Promise<void> => {
    await Promise.all(Array.from({ length: to - from }, async (_, k) => {
      const name = `o${String(from + k).padStart(4, '0')}`
      await listings.updateObject(account, container, { name, timestamp: clock.tick(), size: 10 })
      live.add(name)
    }))
  }
  await write(0, 200)
  const victim = cluster.ring.primaries(cluster.ring.partition(account, container))[0]!
  const index = cluster.nodes.findIndex((n) => n.port === victim.port)
  await cluster.stopNode(index)
  await write(200, 400)
  for (let i = 0; i < 400; i += 10) {
    const name = `o${String(i).padStart(4, '0')}`
    await listings.updateObject(account, container, { name, timestamp: clock.tick(), deleted: true })
    live.delete(name)
  }
  const expected = [...live].sort()
  t.deepEqual((await allPages(listings, account, container, { limit: 1000 })).items.map((i) => 'name' in i && i.name), expected)
  t.like(await listings.headContainer(account, container), { objectCount: expected.length })
  // The node comes back having missed half the writes; another one dies. Still complete.
  await cluster.startNode(index)
  await serving(primaryRefs(cluster, account, container).find((r) => r.port === victim.port)!.ref, victim)
  const other = cluster.nodes.findIndex((n, i) => i !== index && cluster.ring.primaries(cluster.ring.partition(account, container)).some((d) => d.port === n.port))
  await cluster.stopNode(other)
  t.deepEqual((await allPages(listings, account, container, { limit: 150 })).items.map((i) => 'name' in i && i.name), expected)
  await write(400, 450)
  t.is((await listings.listObjects(account, container, { limit: 10_000 })).entries.length, expected.length + 50)
  await cluster.startNode(other)
})
