import test from 'ava'
import { RingBuilder } from '../../ring/index.ts'
import { NONE } from '../../ring/limits.ts'
import { computeTargets } from '../../ring/targets.ts'
import { buildTiers } from '../../ring/tiers.ts'
import { changedSlots, exactMinimumMoves, prng, snapshot, spec } from './helpers.ts'

const HOUR = 3_600_000

for (const partPower of [10, 12]) {
  for (const layout of ['own zones', 'shared zones'] as const) {
    test(`adding a 9th device to 8 equal ones moves about the ideal (P=${partPower}, ${layout})`, (t) => {
      const builder = RingBuilder.create({ partPower, replicas: 3, minPartHours: 1, seed: 42n })
      // 8 zones of one, or 4 zones of two with the newcomer in a zone of its own.
      for (let i = 0; i < 8; i++) builder.addDevice(layout === 'own zones' ? spec(i, 0) : spec(i % 4, i))
      builder.rebalance({ now: 0 })
      const before = snapshot(builder)
      builder.addDevice(spec(8, 0))
      const report = builder.rebalance({ now: 10 * HOUR })
      const ideal = 3 * builder.partitionCount / 9
      t.log(`moved ${report.moved}, ideal ${ideal.toFixed(1)}, minimum ${report.minimumMoves}`)
      t.true(report.moved <= 1.1 * ideal)
      t.is(report.moved, report.minimumMoves)
      t.is(report.balance, 0)
      const changes = changedSlots(before, snapshot(builder))
      t.is(changes.length, report.moved)
      t.true(changes.every((c) => c.to === 8), 'every moved replica went to the new device')
      const partitions = new Set(changes.map((c) => c.p))
      t.is(partitions.size, changes.length, 'one replica per partition moved')
    })
  }
}

// Layouts where the lost replicas can always be replaced inside the victim's
// own domain (3 zones for 3 replicas) or anywhere (one zone, many hosts);
// with 4 zones the cap can force a second hop, which the exact-minimum test covers.
test('removing a device moves only the replicas it held', (t) => {
  for (let seed = 1; seed <= 6; seed++) {
    const rnd = prng(seed)
    const builder = RingBuilder.create({ partPower: 10, replicas: 3, minPartHours: 24, seed: BigInt(seed) })
    const ids: number[] = []
    const zones = seed % 2 === 0 ? 3 : 1
    for (let i = 0; i < 12; i++) ids.push(builder.addDevice(spec(i % zones, i, 50 + rnd.int(100))))
    builder.rebalance({ now: 0 })
    const victim = rnd.pick(ids)
    const before = snapshot(builder)
    const held = before.reduce((n, row) => n + row.filter((d) => d === victim).length, 0)
    builder.removeDevice(victim)
    // Inside min_part_hours of nothing: removal moves regardless.
    const report = builder.rebalance({ now: HOUR })
    const changes = changedSlots(before, snapshot(builder))
    t.true(changes.every((c) => c.from === victim), `seed ${seed}: a replica left a device that stays`)
    t.is(changes.length, held)
    t.is(report.moved, held)
    t.is(report.dispersion, 0)
    t.is(report.balance, 0)
    t.false(builder.devices().some((d) => d.id === victim))
  }
})

test('moves match the exact minimum (min-cost flow) over random change sequences', (t) => {
  let checked = 0
  for (let seed = 1; seed <= 12; seed++) {
    const rnd = prng(seed * 104729)
    const replicas = 2 + rnd.int(3)
    const builder = RingBuilder.create({ partPower: 7, replicas, minPartHours: 0, seed: BigInt(seed) })
    const newDevice = (): number => builder.addDevice({
      region: 1 + rnd.int(2), zone: rnd.int(4), host: `h${rnd.int(12)}`, port: 6200 + rnd.int(1000), device: `d${rnd.int(1e6)}`, weight: rnd.pick([50, 100, 100, 200])
    })
    for (let i = 0; i < 6 + rnd.int(6); i++) newDevice()
    builder.rebalance({ now: 0 })
    for (let step = 1; step <= 5; step++) {
      const live = builder.devices()
      const op = rnd.int(3)
      if (op === 0) newDevice()
      else if (op === 1) builder.setWeight(rnd.pick(live).id, rnd.pick([0, 50, 100, 300]))
      else if (live.length > replicas + 1) builder.removeDevice(rnd.pick(live).id)
      const state = builder.toState()
      const tiers = buildTiers(state.devices, new Set(state.removing), replicas)
      const exact = exactMinimumMoves(tiers, computeTargets(tiers, builder.partitionCount), snapshot(builder))
      const report = builder.rebalance({ now: step * HOUR })
      t.is(report.moved, exact, `seed ${seed} step ${step}`)
      t.is(report.balance, 0, `seed ${seed} step ${step}`)
      t.is(report.dispersion, 0, `seed ${seed} step ${step}`)
      t.true(builder.toState().assignment.every((row) => !row.includes(NONE)))
      checked++
    }
  }
  t.log(`${checked} rebalances matched the exact minimum`)
})

test('min_part_hours holds moved partitions in place; removal still forces moves', (t) => {
  const builder = RingBuilder.create({ partPower: 10, replicas: 3, minPartHours: 2, seed: 5n })
  for (let z = 0; z < 4; z++) for (let i = 0; i < 2; i++) builder.addDevice(spec(z, i))
  const t0 = 1_000 * HOUR
  builder.rebalance({ now: t0 })
  // The first placement moves no data, so it does not start the clock.
  const base = snapshot(builder)
  builder.addDevice(spec(4, 0))
  const first = builder.rebalance({ now: t0 + HOUR })
  t.true(first.moved > 0)
  const movedFirst = new Set(changedSlots(base, snapshot(builder)).map((c) => c.p))

  const afterFirst = snapshot(builder)
  builder.setWeight(0, 400)
  const second = builder.rebalance({ now: t0 + 2 * HOUR })
  const movedSecond = changedSlots(afterFirst, snapshot(builder))
  t.true(movedSecond.length > 0)
  t.false(movedSecond.some((c) => movedFirst.has(c.p)), 'a partition moved within min_part_hours moved again')
  t.true(second.balance > 0, 'the held partitions leave device 0 short of its target for now')
  t.true(second.warnings.some((w) => w.includes('min_part_hours')))

  const afterSecond = snapshot(builder)
  builder.removeDevice(1)
  builder.rebalance({ now: t0 + 2 * HOUR + 60_000 })
  const forced = changedSlots(afterSecond, snapshot(builder))
  t.true(forced.some((c) => c.from === 1))
  t.false(snapshot(builder).some((row) => row.includes(1)), 'removal moves even held partitions')

  const late = builder.rebalance({ now: t0 + 10 * HOUR })
  t.is(late.balance, 0, 'once the hours pass the ring settles')
})

test('a rebalance that changes nothing keeps the version', (t) => {
  const builder = RingBuilder.create({ partPower: 8, replicas: 3, minPartHours: 0, seed: 9n })
  for (let z = 0; z < 3; z++) builder.addDevice(spec(z, 0))
  t.is(builder.rebalance({ now: 0 }).version, 1)
  const again = builder.rebalance({ now: HOUR })
  t.false(again.changed)
  t.is(again.version, 1)
  t.is(again.moved, 0)
  builder.setWeight(0, 200)
  // Three zones, three replicas: the weight cannot move anything, but the ring file changes.
  const reweighted = builder.rebalance({ now: 2 * HOUR })
  t.is(reweighted.moved, 0)
  t.is(reweighted.version, 2)
})
