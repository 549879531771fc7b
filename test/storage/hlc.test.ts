import test from 'ava'
import { HybridClock, stampToMillis } from '../../storage/index.ts'

test('stamps increase even when the wall clock stalls or steps back', (t) => {
  let wall = 1_000_000
  const clock = new HybridClock(() => wall)
  const a = clock.tick()
  const b = clock.tick()
  wall -= 5_000
  const c = clock.tick()
  t.true(a < b && b < c)
  t.is(stampToMillis(a), 1_000_000)
  wall += 60_000
  t.is(stampToMillis(clock.tick()), 1_055_000, 'back on wall-clock time once it moves ahead again')
})

test('a stamp observed from elsewhere orders this clock\'s next writes after it', (t) => {
  const clock = new HybridClock(() => 1_000_000)
  const seen = new HybridClock(() => 2_000_000).tick()
  clock.observe(seen)
  t.true(clock.tick() > seen)
})
