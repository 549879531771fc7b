import { spawn, type ChildProcess } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const BIN = fileURLToPath(new URL('../../bin/ringstack.js', import.meta.url))

export interface Spawned {
  child: ChildProcess
  /** The first stdout line matching the ready pattern. */
  match: RegExpMatchArray
  /** Everything the child wrote to stderr so far (its log), for failure messages. */
  stderr: () => string
}

/** Runs `ringstack <args>` and waits for a stdout line matching `ready`; `env` adds to (or, undefined, removes from) the test's environment. */
export async function spawnRingstack (args: string[], ready: RegExp, timeoutMs = 30_000,
  options: { env?: Record<string, string | undefined> } = {}): Promise<Spawned> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } })
  let err = ''
  child.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-20_000) })
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`ringstack ${args.join(' ')} not ready in ${timeoutMs} ms: ${err}`))
    }, timeoutMs)
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = line.match(ready)
      if (m !== null) {
        clearTimeout(timer)
        resolve(m)
      }
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`ringstack ${args.join(' ')} exited (${signal ?? code}) before ready: ${err}`))
    })
  })
  return { child, match, stderr: () => err }
}

/** Signals a child and waits until it is gone. */
export async function killAndWait (child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  child.kill(signal)
  return await exited
}

/** Pids of the live processes whose command line mentions `path` (QEMU names its pid file there). */
export async function qemuPids (path: string): Promise<number[]> {
  const pids: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')
    if (cmdline.startsWith('qemu-system') && cmdline.includes(path)) pids.push(Number(entry))
  }
  return pids
}
