import { parseArgs } from 'node:util'
import { runStorageNode } from '../storage/index.ts'
import { EXIT_OK, EXIT_USAGE, type CommandIO } from './io.ts'

const HELP = `usage: ringstack storage --config FILE

Runs one storage node from its config file until SIGINT/SIGTERM. Prints
'storage node <id> listening on <host>:<port>' once it serves.`

export async function storageCommand (argv: string[], io: CommandIO): Promise<number> {
  let values
  try {
    ({ values } = parseArgs({ args: argv, options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }))
  } catch (err) {
    io.err(`ringstack storage: ${(err as Error).message}`)
    return EXIT_USAGE
  }
  if (values.help === true) {
    io.out(HELP)
    return EXIT_OK
  }
  if (values.config === undefined) {
    io.err('ringstack storage: --config FILE is required')
    return EXIT_USAGE
  }
  await runStorageNode(values.config)
  return EXIT_OK
}
