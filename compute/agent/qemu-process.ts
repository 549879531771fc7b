import { spawn } from 'node:child_process'
import { open, readFile } from 'node:fs/promises'

/**
 * Starts QEMU in its own session (so it outlives the agent and no signal
 * aimed at the agent's group reaches it), its output to `logPath`.
 * Resolves with its pid; `onExit` fires if it exits while this agent is
 * its parent.
 */
export async function spawnQemu (binary: string, args: string[], logPath: string,
  onExit: (code: number | null, signal: NodeJS.Signals | null) => void): Promise<number> {
  const log = await open(logPath, 'w')
  try {
    const child = spawn(binary, args, { detached: true, stdio: ['ignore', log.fd, log.fd] })
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid!))
      child.once('error', reject)
    })
    child.once('exit', onExit)
    child.unref()
    return pid
  } finally {
    await log.close()
  }
}

/**
 * Whether `pid` is still the QEMU we started: pids get reused, so its
 * command line must name `marker` (the instance's QMP socket path). A
 * zombie has an empty command line and counts as gone.
 */
export async function isOurQemu (pid: number, marker: string): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
  return cmdline.split('\0').some((arg) => arg.includes(marker))
}

/** SIGKILL, only if pid is still ours. */
export async function killQemu (pid: number, marker: string): Promise<void> {
  if (!await isOurQemu(pid, marker)) return
  try {
    process.kill(pid, 'SIGKILL')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
  }
}
