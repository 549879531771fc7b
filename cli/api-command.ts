import { parseArgs, type ParseArgsConfig } from 'node:util'
import { ApiClient, ApiError, apiSettings } from './api-client.ts'
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CommandIO } from './io.ts'

/** A bad command line: the command prints it with its usage and exits 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>
type Values = Record<string, string | boolean | string[] | undefined>

export interface ApiCommandSpec<C> {
  /** `volume`, `image`: the noun after `ringstack`. */
  noun: string
  usage: string
  /** Flags besides --url and --json. */
  options: Options
  commands: Record<string, (context: C) => Promise<void>>
  /** Builds a command's context from the parsed flags (throws UsageError for bad values). */
  context: (base: { api: ApiClient, args: string[], json: boolean, io: CommandIO }, values: Values) => C
}

/**
 * `ringstack <noun> <verb> ...` over an OpenStack API: dispatch, flags,
 * login settings from --url and the environment, and the exit codes every
 * command shares (0, 1 with a one-line reason, 2 with the usage).
 */
export function apiCommand<C> (spec: ApiCommandSpec<C>) {
  return async (argv: string[], io: CommandIO, env: NodeJS.ProcessEnv = process.env): Promise<number> => {
    const [name, ...rest] = argv
    if (name === 'help' || name === '--help' || name === '-h') {
      io.out(spec.usage)
      return EXIT_OK
    }
    try {
      const command = name === undefined ? undefined : spec.commands[name]
      if (command === undefined) throw new UsageError(name === undefined ? 'missing command' : `unknown command "${name}"`)
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { url: { type: 'string' }, json: { type: 'boolean' }, ...spec.options }
      })
      const { url, json, ...own } = values as Values
      const api = new ApiClient(apiSettings(env, typeof url === 'string' ? url : undefined))
      await command(spec.context({ api, args: positionals, json: json === true, io }, own))
      return EXIT_OK
    } catch (err) {
      if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true) {
        io.err(`ringstack ${spec.noun}: ${(err as Error).message}`)
        io.err(spec.usage)
        return EXIT_USAGE
      }
      if (err instanceof ApiError) {
        io.err(`ringstack ${spec.noun} ${name ?? ''}: ${err.message}`)
        return EXIT_FAILURE
      }
      throw err
    }
  }
}

/** Exactly `count` positional arguments, or a UsageError quoting the command's usage line. */
export function expectArgs (args: string[], count: number, usage: string): string[] {
  if (args.length !== count) throw new UsageError(`usage: ${usage}`)
  return args
}

/** A non-negative whole number option (`flag` names it in the error), undefined when absent. */
export function wholeNumber (text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined
  if (!/^\d+$/.test(text)) throw new UsageError(`${flag} must be a whole number`)
  return Number(text)
}
