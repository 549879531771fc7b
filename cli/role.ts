import { parseArgs } from 'node:util'
import { EXIT_OK, EXIT_USAGE, type CommandIO } from './io.ts'

/**
 * `ringstack <role> --config FILE`: runs one role's process from its config
 * file until SIGINT/SIGTERM, as it runs on its own host.
 */
export function roleCommand (role: string, what: string, run: (configPath: string) => Promise<void>, ready: string) {
  const help = `usage: ringstack ${role} --config FILE

Runs one ${what} from its config file until SIGINT/SIGTERM. Prints
'${ready}' once it serves.`
  return async (argv: string[], io: CommandIO): Promise<number> => {
    let values
    try {
      ({ values } = parseArgs({ args: argv, options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }))
    } catch (err) {
      io.err(`ringstack ${role}: ${(err as Error).message}`)
      return EXIT_USAGE
    }
    if (values.help === true) {
      io.out(help)
      return EXIT_OK
    }
    if (values.config === undefined) {
      io.err(`ringstack ${role}: --config FILE is required`)
      return EXIT_USAGE
    }
    await run(values.config)
    return EXIT_OK
  }
}
