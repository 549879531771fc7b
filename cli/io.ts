/** Where a command writes: stdout for results, stderr for one-line reasons. */
export interface CommandIO {
  out: (line: string) => void
  err: (line: string) => void
}

export const processIO: CommandIO = {
  out: (line) => { process.stdout.write(line + '\n') },
  err: (line) => { process.stderr.write(line + '\n') }
}

/** Exit codes of every command (DESIGN.md, operator interface). */
export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2
