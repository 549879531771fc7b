import test from 'ava'
import xxhash from 'xxhash-wasm'
import { createHasher, Ring, RingBuilder, type Device } from '../../ring/index.ts'
import { spec } from './helpers.ts'

async function ringOf (builder: RingBuilder): Promise<Ring> {
  return new Ring(builder.toRingData(), await createHasher())
}

function zonedBuilder (seed: bigint, zones = 4, perZone = 3, partPower = 10): RingBuilder {
  const builder = RingBuilder.create({ partPower, replicas: 3, minPartHours: 0, seed })
  for (let z = 0; z < zones; z++) for (let i = 0; i < perZone; i++) builder.addDevice(spec(z, i))
  builder.rebalance({ now: 0 })
  return builder
}

test('partition() is the top part-power bits of the seeded xxh64 of the path', async (t) => {
  const ring = await ringOf(zonedBuilder(0x1234_5678_9abc_def0n))
  const { h64Raw } = await xxhash()
  const top = (path: string): number => Number(h64Raw(new TextEncoder().encode(path), 0x1234_5678_9abc_def0n) >> 54n)
  t.is(ring.partition('acct', 'cont', 'obj/with/slashes'), top('/acct/cont/obj/with/slashes'))
  t.is(ring.partition('acct', 'cont'), top('/acct/cont'))
  t.is(ring.partition('acct'), top('/acct'))
  t.is(ring.partition('ü', 'ñ', '😀'), top('/ü/ñ/😀'))
  t.throws(() => ring.partition('acct', undefined, 'obj'), { code: 'InvalidArgument' })
  t.throws(() => ring.partition(''), { code: 'InvalidArgument' })
})

test('partition() is deterministic and depends on the seed', async (t) => {
  const a = await ringOf(zonedBuilder(1n))
  const again = await ringOf(zonedBuilder(1n))
  const b = await ringOf(zonedBuilder(2n))
  let differ = 0
  for (let i = 0; i < 1000; i++) {
    const name = `object-${i}`
    t.is(a.partition('AUTH_test', 'photos', name), again.partition('AUTH_test', 'photos', name))
    if (a.partition('AUTH_test', 'photos', name) !== b.partition('AUTH_test', 'photos', name)) differ++
  }
  t.true(differ > 990, `only ${differ} of 1000 names moved with a new seed`)
})

test('partition() spreads names evenly', async (t) => {
  const ring = await ringOf(zonedBuilder(7n))
  const counts = new Uint32Array(ring.partitionCount)
  const names = 64 * ring.partitionCount
  for (let i = 0; i < names; i++) counts[ring.partition('acct', `c${i % 17}`, `o${i}`)]!++
  const expected = names / ring.partitionCount
  const chi2 = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0)
  // 1023 degrees of freedom: mean 1023, sd ~45; 5 sd is far out for a fair hash.
  t.true(chi2 < 1023 + 5 * 45, `chi-square ${chi2.toFixed(0)}`)
  t.true(Math.min(...counts) > expected / 2 && Math.max(...counts) < expected * 2)
})

test('primaries are the assigned devices in replica order', async (t) => {
  const builder = zonedBuilder(3n)
  const ring = await ringOf(builder)
  const rows = builder.toState().assignment
  for (const p of [0, 1, 511, 1023]) {
    t.deepEqual(ring.primaries(p).map((d) => d.id), rows.map((row) => row[p]))
  }
  t.throws(() => ring.primaries(1024), { code: 'InvalidArgument' })
  t.throws(() => ring.primaries(-1), { code: 'InvalidArgument' })
})

test('handoffs: every other device once, other zones first, deterministic', async (t) => {
  const builder = zonedBuilder(4n)
  const ring = await ringOf(builder)
  const again = await ringOf(builder)
  const zoneOf = (d: Device): number => d.zone
  for (let p = 0; p < ring.partitionCount; p += 37) {
    const primaries = ring.primaries(p)
    const handoffs = [...ring.handoffs(p)]
    t.deepEqual(handoffs.map((d) => d.id), [...again.handoffs(p)].map((d) => d.id))
    t.is(handoffs.length, 12 - 3)
    t.is(new Set([...primaries, ...handoffs].map((d) => d.id)).size, 12)
    const used = new Set(primaries.map(zoneOf))
    // Three replicas in four zones: the three devices of the unused zone come first.
    t.true(handoffs.slice(0, 3).every((d) => !used.has(zoneOf(d))), `partition ${p}`)
    t.true(handoffs.slice(3).every((d) => used.has(zoneOf(d))))
  }
})

test('handoffs: other regions before other zones before other hosts; weight 0 last', async (t) => {
  const device = (id: number, region: number, zone: number, host: string, weight = 100): Device =>
    ({ id, region, zone, host, port: 6200, device: `d${id}`, weight })
  const devices = [
    device(0, 1, 1, 'h1'), // primary
    device(1, 1, 2, 'h2'), // primary
    device(2, 1, 1, 'h1'), // same host as a primary
    device(3, 1, 1, 'h3'), // same zone, other host
    device(4, 1, 3, 'h4'), // other zone
    device(5, 2, 1, 'h5'), // other region
    device(6, 2, 4, 'h6', 0) // weight 0: last, though in another region
  ]
  const parts = 16
  const ring = new Ring({
    version: 1, partPower: 4, replicas: 2, seed: 1n, devices,
    assignment: [new Uint16Array(parts).fill(0), new Uint16Array(parts).fill(1)]
  }, await createHasher())
  for (let p = 0; p < parts; p++) t.deepEqual([...ring.handoffs(p)].map((d) => d.id), [5, 4, 3, 2, 6])
})

test('handoffs keep their order when a device joins', async (t) => {
  const builder = zonedBuilder(5n, 4, 3)
  const before = await ringOf(builder)
  const newcomer = builder.addDevice(spec(1, 9))
  builder.rebalance({ now: 0 })
  const after = await ringOf(builder)
  let compared = 0
  for (let p = 0; p < before.partitionCount; p++) {
    const primaries = before.primaries(p).map((d) => d.id)
    if (after.primaries(p).map((d) => d.id).join() !== primaries.join()) continue
    const old = [...before.handoffs(p)].map((d) => d.id)
    const now = [...after.handoffs(p)].map((d) => d.id).filter((id) => id !== newcomer)
    t.deepEqual(now, old)
    compared++
  }
  t.true(compared > 500)
})
