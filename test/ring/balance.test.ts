import test from 'ava'
import { RingBuilder } from '../../ring/index.ts'
import { holdings, prng, spec } from './helpers.ts'

/**
 * Configurations where weight and dispersion agree: every zone carries the
 * same total weight (the same multiset of device weights, shuffled), so
 * each device's weight share is reachable with one replica per zone. The
 * part power is at least 10 and large enough that the smallest device's
 * target is 100 partition-replicas, where rounding costs at most 0.5%.
 */
function weightedRing (seed: number, equalWeights: boolean): { builder: RingBuilder, weights: Map<number, number> } {
  const rnd = prng(seed)
  const replicas = 2 + rnd.int(2)
  const zones = replicas + 1 + rnd.int(3)
  const perZone = 2 + rnd.int(3)
  const zoneWeights = Array.from({ length: perZone }, () => equalWeights ? 100 : 50 + rnd.int(151))
  const specs = Array.from({ length: zones }, (_, z) => [...zoneWeights].sort(() => rnd.next() - 0.5).map((w, i) => spec(z, i, w))).flat()
  const minShare = Math.min(...zoneWeights) / (zones * zoneWeights.reduce((a, b) => a + b, 0))
  let partPower = 10 + rnd.int(2)
  while (minShare * 2 ** partPower * replicas < 100) partPower++
  const builder = RingBuilder.create({ partPower, replicas, minPartHours: 0, seed: BigInt(seed) })
  const weights = new Map(specs.map((s) => [builder.addDevice(s), s.weight]))
  return { builder, weights }
}

for (const equalWeights of [true, false]) {
  test(`each device's share is within 1% of its weight share (${equalWeights ? 'equal' : 'unequal'} weights)`, (t) => {
    for (let seed = 1; seed <= 6; seed++) {
      const { builder, weights } = weightedRing(seed * 7919, equalWeights)
      const report = builder.rebalance({ now: 0 })
      const total = builder.partitionCount * builder.replicas
      const weightSum = [...weights.values()].reduce((a, b) => a + b, 0)
      const held = holdings(builder)
      for (const [id, w] of weights) {
        const share = (held.get(id) ?? 0) / total
        const wanted = w / weightSum
        t.true(Math.abs(share - wanted) / wanted <= 0.01, `seed ${seed}: device ${id} holds ${share} against ${wanted}`)
      }
      t.is(report.balance, 0)
      t.is(report.dispersion, 0)
      t.deepEqual(builder.validate(0), [])
    }
  })
}

test('no partition has two replicas on one device, nor two in one zone when zones >= replicas', (t) => {
  for (let seed = 1; seed <= 8; seed++) {
    const rnd = prng(seed)
    const replicas = 2 + rnd.int(3)
    const zones = replicas + rnd.int(3)
    const builder = RingBuilder.create({ partPower: 10, replicas, minPartHours: 0, seed: BigInt(seed) })
    const zoneOf = new Map<number, number>()
    for (let z = 0; z < zones; z++) {
      // Zones of unequal size and weight: dispersion must win over weight.
      for (let i = 0; i < 1 + rnd.int(4); i++) zoneOf.set(builder.addDevice(spec(z, i, 50 + rnd.int(200))), z)
    }
    const report = builder.rebalance({ now: 0 })
    t.is(report.dispersion, 0, `seed ${seed}`)
    const rows = builder.toState().assignment
    for (let p = 0; p < builder.partitionCount; p++) {
      const devices = rows.map((row) => row[p]!)
      t.is(new Set(devices).size, replicas, `seed ${seed}: partition ${p} repeats a device`)
      t.is(new Set(devices.map((d) => zoneOf.get(d))).size, replicas, `seed ${seed}: partition ${p} repeats a zone`)
    }
  }
})

test('a zone heavier than one replica per partition is capped and the rest spread by weight', (t) => {
  const builder = RingBuilder.create({ partPower: 10, replicas: 3, minPartHours: 0, seed: 1n })
  builder.addDevice(spec(1, 1, 100))
  builder.addDevice(spec(2, 1, 100))
  const big = [builder.addDevice(spec(3, 1, 300)), builder.addDevice(spec(3, 2, 100))]
  builder.rebalance({ now: 0 })
  const held = holdings(builder)
  // Three zones, three replicas: every zone holds each partition once.
  t.is(held.get(0), 1024)
  t.is(held.get(1), 1024)
  t.is((held.get(big[0]!) ?? 0) + (held.get(big[1]!) ?? 0), 1024)
  t.is(held.get(big[0]!), 768)
  t.deepEqual(builder.validate(0), [])
})

test('caps give way where the tiers cannot spread replicas evenly', (t) => {
  // Four replicas, two regions, one of them a single host: one region must take three.
  const builder = RingBuilder.create({ partPower: 8, replicas: 4, minPartHours: 0, seed: 2n })
  for (let i = 0; i < 4; i++) builder.addDevice({ ...spec(1, i), host: `a${i}` })
  builder.addDevice({ ...spec(0, 0, 100, 2), host: 'b0' })
  const report = builder.rebalance({ now: 0 })
  t.is(report.dispersion, 0)
  t.is(report.balance, 0)
  t.deepEqual(builder.validate(0), [])
  const rows = builder.toState().assignment
  for (let p = 0; p < builder.partitionCount; p++) t.is(new Set(rows.map((row) => row[p])).size, 4)
})

test('fewer devices than replicas: warns and doubles up', (t) => {
  const builder = RingBuilder.create({ partPower: 6, replicas: 3, minPartHours: 0, seed: 3n })
  builder.addDevice(spec(1, 1))
  builder.addDevice(spec(2, 1))
  const report = builder.rebalance({ now: 0 })
  t.true(report.warnings.some((w) => w.includes('only 2 devices')))
  t.is(report.balance, 0)
  const rows = builder.toState().assignment
  for (let p = 0; p < builder.partitionCount; p++) t.is(new Set(rows.map((row) => row[p])).size, 2)
  t.deepEqual(builder.validate(0), [])
})

test('a rebalance with no devices of weight is refused', (t) => {
  const builder = RingBuilder.create({ partPower: 6, replicas: 3 })
  t.throws(() => builder.rebalance(), { code: 'NotRebalanced' } as never)
  builder.addDevice(spec(1, 1, 0))
  t.throws(() => builder.rebalance(), { message: /no devices with weight/ })
})
