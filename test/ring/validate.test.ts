import test from 'ava'
import { RingBuilder } from '../../ring/index.ts'
import { spec } from './helpers.ts'

const HOUR = 3_600_000

test('validate names what is wrong, one line per kind', (t) => {
  const builder = RingBuilder.create({ partPower: 8, replicas: 3, minPartHours: 1, seed: 21n })
  t.deepEqual(builder.validate(), ['never rebalanced'])
  for (let z = 0; z < 2; z++) for (let i = 0; i < 3; i++) builder.addDevice(spec(z, i))
  builder.rebalance({ now: 0 })
  t.deepEqual(builder.validate(0), [])

  // Two more zones: one replica per zone becomes possible, so two in a zone is now a problem.
  builder.addDevice(spec(2, 0))
  builder.addDevice(spec(3, 0))
  builder.removeDevice(0)
  builder.setWeight(1, 0)
  const problems = builder.validate(0)
  t.is(problems.length, 3)
  t.regex(problems.find((p) => p.includes('being removed'))!, /^\d+ partition-replicas on devices being removed \(e\.g\. partition \d+\)$/)
  t.truthy(problems.find((p) => p.includes('weight 0')))
  t.truthy(problems.find((p) => p.includes('less spread than the devices allow')))

  builder.rebalance({ now: HOUR })
  t.deepEqual(builder.validate(HOUR), [])
})

test('replicas that min_part_hours holds in place are not counted against the ring', (t) => {
  const builder = RingBuilder.create({ partPower: 8, replicas: 3, minPartHours: 4, seed: 22n })
  for (let z = 0; z < 3; z++) for (let i = 0; i < 2; i++) builder.addDevice(spec(z, i))
  builder.rebalance({ now: 0 })
  builder.addDevice(spec(0, 5))
  builder.rebalance({ now: HOUR })
  // Drain a zone-1 device while partitions whose zone-0 replica just moved are held.
  builder.setWeight(2, 0)
  const report = builder.rebalance({ now: 2 * HOUR })
  t.true(report.warnings.some((w) => w.includes('min_part_hours')))
  t.deepEqual(builder.validate(2 * HOUR), [], 'held partitions are pending, not broken')
  const later = builder.validate(10 * HOUR)
  t.regex(later[0] ?? '', /on devices with weight 0/, 'once free to move, they should have')
  builder.rebalance({ now: 10 * HOUR })
  t.deepEqual(builder.validate(10 * HOUR), [])
})

test('device edits are checked', (t) => {
  const builder = RingBuilder.create({ partPower: 4, replicas: 1 })
  t.throws(() => builder.addDevice({ ...spec(1, 1), port: 0 }), { code: 'InvalidArgument', message: /port/ })
  t.throws(() => builder.addDevice({ ...spec(1, 1), device: 'a/b' }), { code: 'InvalidArgument', message: /device/ })
  t.throws(() => builder.addDevice({ ...spec(1, 1), zone: -1 }), { code: 'InvalidArgument', message: /zone/ })
  t.throws(() => builder.addDevice({ ...spec(1, 1), weight: Number.NaN }), { code: 'InvalidArgument', message: /weight/ })
  const id = builder.addDevice(spec(1, 1))
  t.throws(() => builder.setWeight(id + 1, 5), { code: 'UnknownDevice' })
  builder.removeDevice(id)
  t.throws(() => builder.removeDevice(id), { code: 'UnknownDevice', message: /already being removed/ })
  t.throws(() => RingBuilder.create({ partPower: 3, replicas: 3 }), { code: 'InvalidArgument' })
  t.throws(() => RingBuilder.create({ partPower: 8, replicas: 0 }), { code: 'InvalidArgument' })
  t.throws(() => RingBuilder.create({ partPower: 8, replicas: 3, minPartHours: 1.5 }), { code: 'InvalidArgument' })
})
