import test from 'ava'
import { ServerError, type FlavorRecord, type HypervisorView } from '../../compute/index.ts'
import { Scheduler } from '../../compute/controller/scheduler.ts'

const flavor = (vcpus: number, ramMiB: number): FlavorRecord => ({ id: 'f', name: 'f', vcpus, ramMiB, diskGiB: 1, createdAt: '' })

function host (name: string, vcpusFree: number, ramMiBFree: number): HypervisorView {
  return {
    record: { name, address: `${name}:6300`, addedAt: '' },
    capacity: { agentId: name, vcpusTotal: 64, vcpusFree, ramMiBTotal: 65536, ramMiBFree, instances: 0, accelerator: 'tcg' }
  }
}

test('the host with the most free RAM that fits wins, then the most free vCPUs', (t) => {
  const scheduler = new Scheduler()
  const hosts = [host('small', 8, 1024), host('big', 2, 4096), host('tied', 4, 4096), host('no-cpu', 0, 8192)]
  t.is(scheduler.place(hosts, flavor(1, 512)).host, 'tied')
  t.is(new Scheduler().place(hosts, flavor(6, 512)).host, 'small')
})

test('creates in flight hold their share until released', (t) => {
  const scheduler = new Scheduler()
  const hosts = [host('a', 4, 1024), host('b', 4, 900)]
  const first = scheduler.place(hosts, flavor(1, 512))
  t.is(first.host, 'a')
  t.is(scheduler.place(hosts, flavor(1, 512)).host, 'b', 'a has 512 MiB left once the first create is counted')
  first.release()
  t.is(scheduler.place(hosts, flavor(1, 512)).host, 'a')
})

test('no host fits: NoValidHost says what each host has, unreachable ones included', (t) => {
  const down: HypervisorView = { record: { name: 'down', address: 'down:6300', addedAt: '' }, down: 'unreachable' }
  const err = t.throws(() => new Scheduler().place([host('a', 1, 256), down], flavor(2, 512)))
  t.true(err instanceof ServerError && err.code === 'NoValidHost')
  t.regex(err!.message, /needs 2 vCPUs and 512 MiB RAM \(a: 1 vCPUs, 256 MiB free; down: unreachable\)/)
  t.regex(t.throws(() => new Scheduler().place([], flavor(1, 64)))!.message, /no compute host is registered/)
})
