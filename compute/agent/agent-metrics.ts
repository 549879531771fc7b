import { Counter, Gauge, type Registry } from 'prom-client'
import type { InstanceState } from './types.ts'

/** The agent's Prometheus metrics; the instance gauge is read from the live set at scrape time. */
export class AgentMetrics {
  readonly qemuStarts: Counter
  readonly qemuCrashes: Counter
  readonly instances: Gauge

  constructor (registry: Registry, states: () => Iterable<InstanceState>) {
    this.qemuStarts = new Counter({
      name: 'ringstack_compute_qemu_starts_total', help: 'QEMU processes started', registers: [registry]
    })
    this.qemuCrashes = new Counter({
      name: 'ringstack_compute_qemu_crashes_total', help: 'QEMU processes that went away without being asked to', registers: [registry]
    })
    this.instances = new Gauge({
      name: 'ringstack_compute_instances',
      help: 'Instances on this agent by state',
      labelNames: ['state'],
      registers: [registry],
      collect () {
        const counts: Record<InstanceState, number> = { running: 0, stopped: 0, crashed: 0 }
        for (const state of states()) counts[state]++
        for (const [state, count] of Object.entries(counts)) this.set({ state }, count)
      }
    })
  }
}
