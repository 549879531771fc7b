import { createLogger } from '../lib/logger.ts'
import { createRegistry } from '../lib/metrics.ts'
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
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  await node.start()
  process.stdout.write(`storage node ${config.id} listening on ${node.address}\n`)
  const signal = await signalled
  logger.info({ signal }, 'stopping')
  await node.stop()
}
