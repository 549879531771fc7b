import { createLogger } from '../../lib/logger.ts'
import { createRegistry } from '../../lib/metrics.ts'
import { runUntilSignal } from '../../lib/run-until-signal.ts'
import { ComputeAgent } from './compute-agent.ts'
import { loadAgentConfig } from './config.ts'

/**
 * Runs one compute agent until SIGINT or SIGTERM. Prints exactly one stdout
 * line, `compute agent <id> listening on <host>:<port>`, once it serves.
 */
export async function runComputeAgent (configPath: string): Promise<void> {
  const config = await loadAgentConfig(configPath)
  const logger = createLogger('compute', { level: config.logLevel }).child({ agent: config.id })
  const agent = new ComputeAgent(config, { logger, metrics: createRegistry({ role: 'compute', agent: config.id }, true) })
  await runUntilSignal(async () => await agent.start(), async () => await agent.stop(),
    () => `compute agent ${config.id} listening on ${agent.address}`, logger)
}
