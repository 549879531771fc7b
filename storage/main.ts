import { createLogger } from '../lib/logger.ts'
import { createRegistry } from '../lib/metrics.ts'
import { runUntilSignal } from '../lib/run-until-signal.ts'
import { loadNodeConfig } from './config.ts'
import { StorageNode } from './storage-node.ts'

/**
 * Runs one storage node until SIGINT or SIGTERM, then stops it cleanly.
 * Prints exactly one stdout line, `storage node <id> listening on
 * <host>:<port>`, once it serves; supervisors and tests wait for it.
 */
export async function runStorageNode (configPath: string): Promise<void> {
  const config = await loadNodeConfig(configPath)
  const logger = createLogger('storage', { level: config.logLevel }).child({ node: config.id })
  const node = new StorageNode(config, {
    logger,
    metrics: createRegistry({ role: 'storage', node: config.id }, true)
  })
  await runUntilSignal(async () => await node.start(), async () => await node.stop(),
    () => `storage node ${config.id} listening on ${node.address}`, logger)
}
