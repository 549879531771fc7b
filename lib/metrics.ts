import { Registry, collectDefaultMetrics } from 'prom-client'

export { Registry }

/** A registry per service instance: no process-global metric state. */
export function createRegistry (labels: Record<string, string> = {}, withProcessMetrics = false): Registry {
  const registry = new Registry()
  registry.setDefaultLabels(labels)
  if (withProcessMetrics) collectDefaultMetrics({ register: registry })
  return registry
}
