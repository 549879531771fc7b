import { spawn } from 'node:child_process'
import { ImageError } from './errors.ts'

/** What `qemu-img info` says about a qcow2 file, as far as an import cares. */
export interface Qcow2Info {
  virtualSize: number
}

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs qemu-img; `onStdout` sees output as it comes (convert -p progress). */
async function qemuImg (args: string[], onStdout?: (text: string) => void): Promise<Run> {
  return await new Promise((resolve, reject) => {
    const child = spawn('qemu-img', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      const text = d.toString()
      if (onStdout === undefined) stdout += text
      else onStdout(text)
    })
    child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000) })
    child.once('error', reject)
    child.once('close', (code) => { resolve({ code, stdout, stderr: stderr.trim() }) })
  })
}

/**
 * Inspects an uploaded qcow2 before anything reads it as a disk: it must
 * open as qcow2, pass `qemu-img check`, and stand alone (a backing file or
 * external data file would make qemu-img read files of the gateway's host).
 */
export async function inspectQcow2 (path: string, maxSize: number): Promise<Qcow2Info> {
  const info = await qemuImg(['info', '--output=json', '-f', 'qcow2', path])
  if (info.code !== 0) throw new ImageError('BadData', `not a valid qcow2 image: ${lastLine(info.stderr, path)}`)
  const parsed = JSON.parse(info.stdout) as {
    'virtual-size'?: number
    'backing-filename'?: string
    'format-specific'?: { data?: { 'data-file'?: string } }
  }
  if (parsed['backing-filename'] !== undefined) throw new ImageError('BadData', 'qcow2 images with a backing file are not accepted')
  if (parsed['format-specific']?.data?.['data-file'] !== undefined) throw new ImageError('BadData', 'qcow2 images with an external data file are not accepted')
  const virtualSize = parsed['virtual-size']
  if (typeof virtualSize !== 'number' || virtualSize <= 0) throw new ImageError('BadData', 'the qcow2 image has no virtual size')
  if (virtualSize > maxSize) throw new ImageError('TooLarge', `the qcow2 image's virtual size ${virtualSize} is over ${maxSize} bytes`)
  const check = await qemuImg(['check', '-f', 'qcow2', path])
  // 3: leaked clusters only, which cost space but lose nothing.
  if (check.code !== 0 && check.code !== 3) {
    throw new ImageError('BadData', `corrupt qcow2 image: ${lastLine(check.stderr || check.stdout, path) || `qemu-img check exited ${check.code}`}`)
  }
  return { virtualSize }
}

/** Converts to a sparse raw file, reporting progress in percent. */
export async function convertToRaw (from: string, to: string, progress: (percent: number) => void): Promise<void> {
  const run = await qemuImg(['convert', '-p', '-f', 'qcow2', '-O', 'raw', from, to], (text) => {
    for (const m of text.matchAll(/\((\d+(?:\.\d+)?)\/100%\)/g)) progress(Number(m[1]))
  })
  if (run.code !== 0) throw new ImageError('BadData', `the qcow2 image does not convert: ${lastLine(run.stderr, from)}`)
}

/** qemu-img's last word, without the spool file's name (the client has no business with the gateway's paths). */
function lastLine (text: string, path: string): string {
  return (text.split('\n').filter((l) => l.trim() !== '').at(-1) ?? '').replaceAll(`'${path}'`, 'the image').replaceAll(path, 'the image')
}
