import { execFile } from 'node:child_process'

export interface ToolResult {
  code: number
  stdout: string
  stderr: string
}

/**
 * Runs a block client (qemu-io, qemu-img, nbdinfo, nbdcopy, nbdsh) and
 * resolves with its exit code and output, whatever the code. Debian's
 * python3 comes first on PATH: nbdsh is a Python module of Debian's.
 */
export async function tool (command: string, args: string[], timeoutMs = 120_000): Promise<ToolResult> {
  return await new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, PATH: `/usr/bin:${process.env.PATH ?? ''}` } },
      (err, stdout, stderr) => {
        if (err !== null && typeof err.code !== 'number') reject(new Error(`${command} ${args.join(' ')}: ${err.message} ${stderr}`))
        else resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr })
      })
  })
}

/** qemu-io on a raw NBD export with `-c` commands; exit 0 means every command (incl. pattern checks) passed. */
export async function qemuIo (uri: string, ...commands: string[]): Promise<ToolResult> {
  return await tool('qemu-io', ['-f', 'raw', uri, ...commands.flatMap((c) => ['-c', c])])
}
