import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
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

function isEntryPoint (): boolean {
  const script = process.argv[1]
  if (script === undefined) return false
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url))
  } catch {
    return false
  }
}

if (isEntryPoint()) {
  let configPath: string | undefined
  try {
    configPath = parseArgs({ options: { config: { type: 'string' } } }).values.config
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`)
  }
  if (configPath === undefined) {
    process.stderr.write('usage: storage/main.ts --config FILE\n')
    process.exit(2)
  }
  runStorageNode(configPath).then(() => process.exit(0), (err: unknown) => {
    process.stderr.write(`storage node failed: ${(err as Error).message}\n`)
    process.exit(1)
  })
}
