import test from 'ava'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { ObjectPath } from '../../storage/object-client/index.ts'
import { collect, sameBytes, TestCluster } from '../helpers/cluster.ts'

const path = (key: string): ObjectPath => ({ account: 'AUTH_rebalance', container: 'c', object: key })

test('adding a 4th node and rebalancing under load: every object stays readable, then each partition sits where the ring says and old copies are gone', async (t) => {
  const cluster = await TestCluster.start(t, { partPower: 6, replicationIntervalMs: 300 })
  const bodies = new Map<string, Buffer>()
  for (let i = 0; i < 60; i++) {
    const body = randomBytes(4096 + i)
    await cluster.client.put(path(`before-${i}`), [body])
    bodies.set(`before-${i}`, body)
  }

  let loading = true
  let reads = 0
  const load = (async () => {
    for (let n = 0; loading; n++) {
      const body = randomBytes(2048)
      await cluster.client.put(path(`during-${n}`), [body])
      bodies.set(`during-${n}`, body)
      const keys = [...bodies.keys()]
      const key = keys[Math.floor(Math.random() * keys.length)]!
      sameBytes(t, await collect((await cluster.client.get(path(key))).body), bodies.get(key)!, `${key} while the ring changes`)
      reads++
    }
  })()
  await sleep(1_000)
  const added = await cluster.addNode()
  await sleep(5_000)
  loading = false
  await load
  t.log(`${reads} verified reads and ${bodies.size} objects around the ring change`)

  // Afterwards: the primaries of every partition agree, every other device holds nothing of it.
  const started = Date.now()
  const ring = cluster.ring
  let moved = 0
  const devices = cluster.nodes.map((n) => ({ id: -1, host: '127.0.0.1', port: n.port, device: 'd1' }))
  for (let partition = 0; partition < ring.partitionCount; partition++) {
    const primaries = new Set(ring.primaries(partition).map((d) => d.port))
    for (;;) {
      const digests = await Promise.all(devices.map(async (d) => ({
        primary: primaries.has(d.port), digest: JSON.stringify([...(await cluster.pool.client(d).partitionDigest('d1', partition))].sort())
      })))
      const held = new Set(digests.filter((d) => d.primary).map((d) => d.digest))
      const strays = digests.filter((d) => !d.primary && d.digest !== '[]')
      if (held.size === 1 && strays.length === 0) {
        if (primaries.has(added.port) && !held.has('[]')) moved++
        break
      }
      if (Date.now() - started > 120_000) t.fail(`partition ${partition}: primaries differ or old copies remain`)
      await sleep(300)
    }
  }
  t.log(`every partition sat where the new ring says ${Date.now() - started} ms after the load stopped`)
  t.log(`${moved} partitions with data moved a replica onto the new node`)
  t.true(moved > 0, 'the new node took its share')
  for (const [key, body] of bodies) sameBytes(t, await collect((await cluster.client.get(path(key))).body), body, key)
})
